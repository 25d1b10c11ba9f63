"""``python -m fomm_tf.train``: a real run, its outputs, resume, fine-tune, errors."""

import functools
import re

import numpy as np
import pytest

from tests.harness import (
    differences,
    keras_weights,
    run_module,
    tiny_config,
    write_config,
)

LOG_LINE = re.compile(
    r"^\d{8}\) perceptual - \d+\.\d{5}; gen_gan - \d+\.\d{5}; "
    r"feature_matching - \d+\.\d{5}; equivariance_value - \d+\.\d{5}; "
    r"equivariance_jacobian - \d+\.\d{5}; disc_gan - \d+\.\d{5}$"
)


run_cli = functools.partial(run_module, "fomm_tf.train", timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from fomm_tf.synthetic import write_dataset

    path = tmp_path_factory.mktemp("cli")
    write_dataset(path / "data", num_videos=6, num_frames=5, size=64, seed=9)
    # Every loss term, the perceptual one on VGG19 at one scale.
    every_term = tiny_config(train_params__loss_weights__perceptual=[1] * 5)
    write_config(path / "tiny.yaml", every_term)
    return path


def common_args(workdir, log_dir):
    return [
        "--config", workdir / "tiny.yaml",
        "--log_dir", log_dir,
        "--dataset_root", workdir / "data",
        "--vgg_weights", "numpy-recipe",
        "--steps_per_epoch", 2,
        "--epochs", 1,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(workdir):
    log_dir = workdir / "run"
    result = run_cli(*common_args(workdir, log_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return log_dir, result


@pytest.mark.slow
def test_run_writes_logs_images_checkpoints_and_models(finished_run):
    log_dir, result = finished_run
    assert "done:" in result.stdout
    lines = (log_dir / "log.txt").read_text().splitlines()
    assert len(lines) == 1 and LOG_LINE.match(lines[0]), lines
    assert lines[0].startswith("00000000) ")
    image = (log_dir / "train-vis" / "00000000-rec.png").read_bytes()
    assert image.startswith(b"\x89PNG")
    for folder in ("train", "images"):
        events = list((log_dir / "tensorboard" / folder).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 100
    assert (log_dir / "checkpoints" / "checkpoint").is_file()
    assert not list(log_dir.glob(".*partial*"))

    from fomm_tf import load_checkpoint

    models = load_checkpoint(None, log_dir / "models.keras")
    assert models.config.model_params.common_params.num_kp == 4


@pytest.mark.slow
def test_rerun_resumes_and_finetune_starts_from_the_checkpoint(finished_run, workdir):
    log_dir, _ = finished_run
    trained = keras_weights(log_dir / "models.keras")
    again = run_cli(*common_args(workdir, log_dir))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming" in again.stderr
    assert len((log_dir / "log.txt").read_text().splitlines()) == 1
    assert differences(log_dir / "models.keras", log_dir / "models.keras") == (0, 0)
    reexported = keras_weights(log_dir / "models.keras")
    assert all(np.array_equal(trained[k], reexported[k]) for k in trained)

    tuned_dir = workdir / "finetune"
    args = common_args(workdir, tuned_dir)[:-2]
    tuned = run_cli(*args, "--epochs", 0, "--checkpoint", log_dir / "models.keras")
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert "Fine-tuning from" in tuned.stderr
    assert differences(log_dir / "models.keras", tuned_dir / "models.keras") == (0, 0)


@pytest.mark.slow
def test_bad_input_is_one_line_error(workdir, tmp_path):
    missing = run_cli("--config", tmp_path / "nope.yaml", "--log_dir", tmp_path / "a")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "nope.yaml" in missing.stderr
    assert "Traceback" not in missing.stderr

    no_vgg = run_cli(
        "--config", workdir / "tiny.yaml", "--log_dir", tmp_path / "b",
        "--dataset_root", workdir / "data", "--steps_per_epoch", 1,
    )  # fmt: skip
    assert no_vgg.returncode == 1
    assert "--vgg_weights" in no_vgg.stderr.strip().splitlines()[-1]

    bad_batch = run_cli(*common_args(workdir, tmp_path / "c"), "--batch_size", 1000)
    assert bad_batch.returncode == 1
    last = bad_batch.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "batch" in last
    assert "Traceback" not in bad_batch.stderr
