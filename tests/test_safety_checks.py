"""Checks made before any work, output permissions, what a model card records,
the order of the end-of-epoch callbacks, and temporary files (issue 8)."""

import json
import os
import stat
import tempfile
import types

import numpy as np
import pytest
import tensorflow as tf

from export import converter, model_card
from export.loading import load_models, weights_record
from export.spec import ExportSpec
from fomm_tf import animation, evaluation, output_paths
from fomm_tf.errors import InputError, MediaError
from tests.harness import REPO

ASSETS = REPO / "fomm_tf" / "assets"
SOURCE, DRIVING = ASSETS / "source.png", ASSETS / "driving.mp4"


@pytest.mark.parametrize(
    ("result", "audio", "message"),
    [
        ("source.png", False, "exists and is not a folder"),
        ("", False, "the output path is empty"),
        (".", False, "refusing to replace an existing non-empty folder"),
        ("result.gif", True, "--audio needs a video file that can hold audio"),
        ("frames", True, "--audio needs a video file that can hold audio"),
    ],
)
def test_result_is_checked_before_any_work(
    tmp_path, monkeypatch, result, audio, message
):
    """A result that cannot be written fails in ``check_inputs``, before a model
    is loaded or a frame animated."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "source.png").write_bytes(SOURCE.read_bytes())
    options = animation.AnimationOptions(audio=audio)
    with pytest.raises(MediaError, match=message):
        animation.check_inputs(SOURCE, DRIVING, result, options)
    assert (tmp_path / "source.png").read_bytes() == SOURCE.read_bytes()


def test_temporary_outputs_get_the_umask_modes(tmp_path):
    """Outputs moved into place from temporary siblings (``.keras``, exports,
    frame folders) have the modes a new file or folder gets, not 0600 / 0700."""
    old = os.umask(0o027)
    try:
        file = output_paths.make_temp_file(tmp_path / "model.keras", "tmp", ".keras")
        folder = output_paths.make_temp_dir(tmp_path / "export", "tmp")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o750


def test_evaluation_refuses_a_foreign_result_folder(tmp_path):
    """``<result_dir>/<mode>`` holding a user's files is refused, untouched; an
    earlier evaluation's folder (it holds ``png/``) is reused."""
    mine = tmp_path / "reconstruction" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("keep")
    with pytest.raises(InputError, match="refusing to replace a non-empty folder"):
        evaluation.make_output_dirs(tmp_path, "reconstruction")
    assert mine.read_text() == "keep"
    assert evaluation.make_output_dirs(tmp_path / "new", "animation")
    assert evaluation.make_output_dirs(tmp_path / "new", "animation")


def test_model_card_records_weights_hash_and_convention(tmp_path):
    """No local path in a card that ships: the checkpoint's name and sha256, and
    the grid-sampling convention (``--align_corners``) of the exported graph."""
    record = weights_record(ASSETS / "synthetic-64.keras")
    assert record["file"] == "synthetic-64.keras" and len(record["sha256"]) == 64
    models, weights = load_models(
        ASSETS / "synthetic-64.yaml", None, random_weights=True, align_corners=False
    )
    assert weights == "random"
    spec = ExportSpec.from_models(models)
    assert spec.align_corners is False
    card_path = tmp_path / "model_card.json"
    model_card.write_card(card_path, spec, "float32", "split", [], record, "none")
    card = json.loads(card_path.read_text())
    assert card["align_corners"] is False and card["weights"] == record
    assert str(REPO) not in card_path.read_text()


def test_tflite_conversion_leaves_no_temporary_files(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    double = tf.function(
        lambda x: {"y": 2.0 * x}, input_signature=[tf.TensorSpec((1, 2), tf.float32)]
    )
    assert converter.convert(double, "double", "float32")
    # the SavedModel the converter reads is gone (autograph's generated .py
    # files stay until the interpreter exits, which removes them)
    assert not [path for path in tmp_path.iterdir() if path.suffix != ".py"]


def test_epoch_logs_are_written_before_the_epoch_checkpoint(monkeypatch):
    """A run killed right after the end-of-epoch checkpoint has already written
    the epoch's ``log.txt`` line, ``train-vis`` picture and scalars (the resumed
    run starts at the next epoch and would never write them)."""
    from fomm_tf import load_config
    from fomm_tf.training import session

    monkeypatch.setattr(session, "visualization_batch", lambda cfg, options: {
        "source": np.zeros(1), "driving": np.zeros(1)})  # fmt: skip
    optimizer = types.SimpleNamespace(learning_rate=None)
    trainer = types.SimpleNamespace(
        optimizers_by_name=lambda: dict.fromkeys(
            ("generator", "discriminator", "kp_detector"), optimizer
        ),
        loss_trackers={"perceptual": None},
    )
    options = types.SimpleNamespace(log_dir="run", save_every_steps=0)
    cfg = load_config(ASSETS / "synthetic-64.yaml")
    callbacks = session._callbacks(trainer, None, cfg, options, 1, (0, 0), True)
    names = [type(callback).__name__ for callback in callbacks]
    assert names[-1] == "ProgressCheckpoint", names
    assert {"LossLog", "EpochScalars", "VisualizationCallback"} <= set(names[:-1])
