"""Checkpoint import errors and the converter CLI."""

import functools
import pickle

import numpy as np
import pytest

import fomm_tf
from fomm_tf.convert import convert
from tests.harness import nhwc, run_module

run_cli = functools.partial(run_module, "fomm_tf.convert")


def write_config_with(fixtures_dir, tmp_path, old, new):
    text = (fixtures_dir / "vox_small.yaml").read_text()
    assert old in text
    path = tmp_path / "changed.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_checkpoint_for_another_config_lists_the_offending_keys(fixtures_dir, tmp_path):
    config = write_config_with(fixtures_dir, tmp_path, "num_kp: 10", "num_kp: 5")
    with pytest.raises(fomm_tf.CheckpointMismatchError) as error:
        fomm_tf.load_checkpoint(config, fixtures_dir / "vox_small.pth.tar")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        f"{fixtures_dir / 'vox_small.pth.tar'}: checkpoint does not match the config: "
        "kp_detector: shape mismatch jacobian.bias (40,) vs config (20,), "
        "jacobian.weight (40, 11, 7, 7) vs config (7, 7, 11, 20)"
    )
    assert "generator: shape mismatch dense_motion_network.hourglass" in message


def test_missing_and_unexpected_keys_are_listed(fixtures_dir, tmp_path):
    config = write_config_with(
        fixtures_dir,
        tmp_path,
        "estimate_occlusion_map: true",
        "estimate_occlusion_map: false",
    )
    with pytest.raises(fomm_tf.CheckpointMismatchError) as error:
        fomm_tf.load_checkpoint(config, fixtures_dir / "vox_small.pth.tar")
    assert (
        "generator: unexpected keys dense_motion_network.occlusion.bias, "
        "dense_motion_network.occlusion.weight" in str(error.value)
    )


def test_malicious_pickle_is_refused_and_nothing_runs(fixtures_dir, tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth.tar"
    path.write_bytes(pickle.dumps({"kp_detector": Exploit()}))
    with pytest.raises(fomm_tf.CheckpointError, match="refused pickle global"):
        fomm_tf.load_checkpoint(fixtures_dir / "vox_small.yaml", path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint\n"])
def test_non_checkpoints_give_clear_errors(fixtures_dir, tmp_path, content):
    path = tmp_path / "bad.pth.tar"
    path.write_bytes(content)
    with pytest.raises(fomm_tf.CheckpointError, match=str(path)):
        fomm_tf.load_checkpoint(fixtures_dir / "vox_small.yaml", path)


def test_corrupt_keras_file_gives_a_clear_error(fixtures_dir, tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(fomm_tf.CheckpointError, match="not a fomm_tf .keras file"):
        fomm_tf.load_checkpoint(fixtures_dir / "vox_small.yaml", path)


def test_converted_file_needs_no_torch_checkpoint(fixtures_dir, tmp_path, reference_io):
    output = convert(
        fixtures_dir / "vox_small.yaml",
        fixtures_dir / "vox_small_legacy.pth.tar",
        tmp_path / "vox_small.keras",
        align_corners=False,
    )
    models = fomm_tf.load_checkpoint(None, output)
    assert models.config.model_params.common_params.align_corners is False
    kp = models.kp_detector(nhwc(reference_io["source"]))
    np.testing.assert_allclose(kp["value"], reference_io["kp_source/value"], atol=1e-4)
    other = write_config_with(fixtures_dir, tmp_path, "num_kp: 10", "num_kp: 5")
    with pytest.raises(fomm_tf.CheckpointMismatchError) as error:
        fomm_tf.load_checkpoint(other, output)
    assert str(error.value) == (
        f"{output}: checkpoint does not match the config: "
        "model_params.common_params.num_kp (10 in file, 5 in config)"
    )


@pytest.mark.slow
def test_cli_converts_and_reports_bad_input_in_one_line(fixtures_dir, tmp_path):
    config = fixtures_dir / "vox_small.yaml"
    output = tmp_path / "out.keras"
    ok = run_cli(
        "--config",
        config,
        "--checkpoint",
        fixtures_dir / "vox_small.pth.tar",
        "--output",
        output,
    )
    assert ok.returncode == 0, ok.stderr
    assert output.stat().st_size > 1_000_000
    before = output.read_bytes()
    missing = run_cli(
        "--config",
        config,
        "--checkpoint",
        tmp_path / "nope.pth.tar",
        "--output",
        output,
    )
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'nope.pth.tar'}: no such file"
    )
    assert output.read_bytes() == before  # the existing good file is untouched
    nodir = run_cli(
        "--config",
        config,
        "--checkpoint",
        fixtures_dir / "vox_small.pth.tar",
        "--output",
        tmp_path / "missing" / "out.keras",
    )
    assert nodir.returncode == 1
    assert "does not exist" in nodir.stderr.strip().splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.keras"]
