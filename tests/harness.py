"""What many tests share: paths and layouts, tiny configs and models, command
runners, the layer round trip, probes of intermediate tensors, media files and
``.keras`` weight comparisons."""

import copy
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import h5py
import imageio_ffmpeg
import keras
import numpy as np
import yaml
from absl import flags

import fomm_tf
from fomm_tf import animate, video_io
from fomm_tf.config import config_from_dict, config_to_dict

# --- paths and layouts --------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "fomm_reference"
FIXTURE_CONFIG = FIXTURES / "vox_small.yaml"
FIXTURE_CHECKPOINT = FIXTURES / "vox_small.pth.tar"
# The animate command's flags for the fixture checkpoint (Keras backend).
FIXTURE_FLAGS = (
    f"--config={FIXTURE_CONFIG}",
    f"--checkpoint={FIXTURE_CHECKPOINT}",
)
CONFIGS = REPO / "configs"


def nhwc(array):
    """NCHW fixture arrays to the port's NHWC layout."""
    return np.transpose(array, (0, 2, 3, 1))


def load_fixture_models(**options):
    """A fresh load of the fixture checkpoint (its config; ``options`` go to
    ``fomm_tf.load_checkpoint``). Code that transforms models in place (the
    exporters, ``optimize=True``) gets one of these, never the shared
    ``fixture_models``."""
    return fomm_tf.load_checkpoint(FIXTURE_CONFIG, FIXTURE_CHECKPOINT, **options)


# --- parity with the official outputs -------------------------------------------

KP_ATOL = 1e-4  # keypoints, jacobians, heatmaps, masks, occlusion, flows
IMAGE_ATOL = 3e-4  # generator fed the reference keypoints


def assert_close(actual, expected, atol):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0, atol=atol)


def reference_kp(io, prefix, index=None):
    """The fixture's keypoints ``<prefix>/value``, ``/jacobian`` (one frame of
    them with ``index``)."""
    kp = {"value": io[f"{prefix}/value"], "jacobian": io[f"{prefix}/jacobian"]}
    if index is None:
        return kp
    return {key: value[index : index + 1] for key, value in kp.items()}


# --- configs and models ---------------------------------------------------------

# 64x64, widths 4-8, 4 keypoints: every network and loss term, small.
TINY_CONFIG = {
    "dataset_params": {
        "frame_shape": [64, 64, 3],
        "id_sampling": False,
        "augmentation_params": {
            "flip_param": {"horizontal_flip": True, "time_flip": True}
        },
    },
    "model_params": {
        "common_params": {"num_kp": 4, "num_channels": 3, "estimate_jacobian": True},
        "kp_detector_params": {
            "temperature": 0.1,
            "block_expansion": 4,
            "max_features": 8,
            "scale_factor": 0.5,
            "num_blocks": 2,
        },
        "generator_params": {
            "block_expansion": 4,
            "max_features": 8,
            "num_down_blocks": 2,
            "num_bottleneck_blocks": 1,
            "estimate_occlusion_map": True,
            "dense_motion_params": {
                "block_expansion": 4,
                "max_features": 8,
                "num_blocks": 2,
                "scale_factor": 0.5,
            },
        },
        "discriminator_params": {
            "scales": [1],
            "block_expansion": 4,
            "max_features": 8,
            "num_blocks": 2,
            "sn": True,
        },
    },
    "train_params": {
        "num_epochs": 2,
        "num_repeats": 2,
        "epoch_milestones": [1],
        "lr_generator": 2.0e-4,
        "lr_discriminator": 2.0e-4,
        "lr_kp_detector": 2.0e-4,
        "batch_size": 4,
        "scales": [1],
        "checkpoint_freq": 1,
        "transform_params": {"sigma_affine": 0.05, "sigma_tps": 0.005, "points_tps": 5},
        "loss_weights": {
            "generator_gan": 1,
            "discriminator_gan": 1,
            "feature_matching": [10, 10],
            "perceptual": [0, 0, 0, 0, 0],
            "equivariance_value": 10,
            "equivariance_jacobian": 10,
        },
    },
    "visualizer_params": {
        "kp_size": 2,
        "draw_border": True,
        "colormap": "gist_rainbow",
    },
}


def config_with(base, **changes):
    """``base`` (a config or its YAML dict) with ``changes`` applied: each key is
    a ``__``-separated path, e.g. ``train_params__loss_weights__perceptual``."""
    data = copy.deepcopy(base) if isinstance(base, dict) else config_to_dict(base)
    for path, value in changes.items():
        *sections, key = path.split("__")
        node = data
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = value
    return config_from_dict(data, source="test config")


def tiny_config(**changes):
    """``TINY_CONFIG`` with ``changes`` (see :func:`config_with`)."""
    return config_with(TINY_CONFIG, **changes)


def fixture_config(frame_size, **changes):
    """The reference fixture's config at ``frame_size`` pixels, with ``changes``."""
    fixture = fomm_tf.load_config(FIXTURE_CONFIG)
    frame_shape = [frame_size, frame_size, 3]
    return config_with(fixture, dataset_params__frame_shape=frame_shape, **changes)


def write_config(path, config):
    """``config`` as a YAML file at ``path``; returns the path."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(config)))
    return path


def save_tiny_model(folder, **changes):
    """``tiny.yaml`` and a ``tiny.keras`` of the tiny config (with ``changes``)
    with seeded random weights in ``folder``; returns both paths."""
    keras.utils.set_random_seed(0)
    config = tiny_config(**changes)
    config_path = write_config(Path(folder) / "tiny.yaml", config)
    checkpoint = Path(folder) / "tiny.keras"
    fomm_tf.build_models(config).save(checkpoint)
    return config_path, checkpoint


# --- commands -------------------------------------------------------------------


def child_environment():
    """The environment of a child Python: this checkout first on the import
    path, TensorFlow's C++ log quiet."""
    inherited = os.environ.get("PYTHONPATH")
    pythonpath = os.pathsep.join(filter(None, [str(REPO), inherited]))
    return {**os.environ, "PYTHONPATH": pythonpath, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_module(module, *args, cwd=REPO, timeout=None):
    """``python -m module args`` in a child (see :func:`child_environment`);
    returns the completed process (output captured as text)."""
    command = [sys.executable, "-m", module, *map(str, args)]
    return subprocess.run(
        command,
        cwd=cwd,
        env=child_environment(),
        timeout=timeout,
        capture_output=True,
        text=True,
    )


def run_in_process(command, *arguments):
    """A command module (``define_flags``, ``run``) in-process on its own flag
    values (so no clash with other modules' flags); returns the exit message,
    None on success."""
    values = flags.FlagValues()
    command.define_flags(flag_values=values)
    values([command.__name__.rpartition(".")[2], *arguments])
    try:
        command.run(values)
    except SystemExit as stop:
        return stop.code
    return None


def run_animate(*arguments):
    """``python -m fomm_tf.animate`` in-process, without a progress bar."""
    return run_in_process(animate, "--noprogress", *arguments)


# --- layers and probes ------------------------------------------------------------


def layer_round_trip(layer, *inputs):
    """The outputs of ``layer(*inputs)``, once checked that
    ``from_config(get_config())`` rebuilds the same config and, given the same
    weights, the same outputs."""
    outputs = layer(*inputs)
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    rebuilt(*inputs)
    rebuilt.set_weights(layer.get_weights())
    assert rebuilt.get_config() == config
    pairs = zip(
        keras.tree.flatten(outputs), keras.tree.flatten(rebuilt(*inputs)), strict=True
    )
    for want, got in pairs:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    return outputs


def record_returns(monkeypatch, owner, name):
    """A list that receives every return value of ``owner.<name>`` (a method,
    or the ``call`` of a sub-layer) while the test runs; calls behave as before.

    Parity tests read a network's intermediate tensors this way, so the public
    models need no debug outputs.
    """
    returned = []
    original = getattr(owner, name)

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        returned.append(result)
        return result

    monkeypatch.setattr(owner, name, recording)
    return returned


def keras_frames(models, source, driving, flags):
    """Keras reference animation: keypoints, ``normalize_kp``, generator, frame
    by frame; returns (predictions, source keypoints, driving keypoints)."""
    kp_source = models.kp_detector(source, training=False)
    kp_driving = models.kp_detector(driving, training=False)
    initial = {key: value[:1] for key, value in kp_driving.items()}
    predictions = []
    for index in range(len(driving)):
        current = {key: value[index : index + 1] for key, value in kp_driving.items()}
        kp_norm = fomm_tf.normalize_kp(kp_source, current, initial, *map(bool, flags))
        out = models.generator(
            source, kp_source=kp_source, kp_driving=kp_norm, training=False
        )
        predictions.append(out["prediction"].numpy())
    numpy = {key: value.numpy() for key, value in kp_driving.items()}
    source_numpy = {key: value.numpy() for key, value in kp_source.items()}
    return np.concatenate(predictions), source_numpy, numpy


# --- media files ------------------------------------------------------------------


def ffmpeg(*arguments):
    """Run the ffmpeg binary that imageio-ffmpeg ships (errors raise)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *arguments]
    subprocess.run(command, check=True, capture_output=True)


def noise_frames(count, height, width, seed=0):
    """Smooth random uint8 RGB frames (compress well, still distinct)."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 255, (count, height // 8, width // 8, 3)).astype(np.uint8)
    size = (width, height)
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in low])


def leftovers(folder):
    """Partial outputs an interrupted writer left in ``folder``."""
    return [name for name in os.listdir(folder) if ".partial-" in name]


def make_bad_videos(folder):
    """Named broken driving videos: text, truncated (two ways), no video frames;
    returns {file name: expected error text}."""
    (folder / "text.mp4").write_text("hello, I am not a video\n")
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=128x128:rate=12", "-vf",
        "noise=alls=40:allf=t", "-frames:v", "48", "-pix_fmt", "yuv420p",
        str(folder / "full.mp4"),
    )  # fmt: skip
    ffmpeg("-i", str(folder / "full.mp4"), "-c", "copy", "-movflags", "+faststart",
           str(folder / "faststart.mp4"))  # fmt: skip
    for name in ("full", "faststart"):
        data = (folder / f"{name}.mp4").read_bytes()
        (folder / f"truncated_{name}.mp4").write_bytes(data[: len(data) // 2])
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(folder / "audio_only.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=12", "-frames:v", "0",
           str(folder / "zero_frames.mp4"))  # fmt: skip
    return {
        "text.mp4": "not a readable video",
        "truncated_full.mp4": "not a readable video",
        "truncated_faststart.mp4": "truncated or corrupt",
        "audio_only.mp4": "video has no frames",
        "zero_frames.mp4": "video has no frames",
        "missing.mp4": "no such file",
    }


def save_png(path, image):
    """A [0, 1] RGB image as an 8-bit PNG; returns the path."""
    cv2.imwrite(str(path), cv2.cvtColor(video_io.to_uint8(image), cv2.COLOR_RGB2BGR))
    return path


def save_folder(folder, frames):
    """Frames as a new folder of PNGs ``0.png``, ``1.png``, ...; returns it."""
    folder.mkdir(parents=True)
    for index, frame in enumerate(frames):
        save_png(folder / f"{index}.png", frame)
    return folder


def write_video(path, frames, fps=10):
    """Frames (uint8 or [0, 1] floats) as a video file; returns the path."""
    with video_io.VideoWriter(path, fps) as writer:
        writer.write(frames)
    return path


def read_folder(folder):
    """A folder of frames as float32 (T, H, W, 3) in [0, 1]."""
    return np.stack([video_io.read_image(p) for p in video_io.frame_files(folder)])


# --- .keras weights -----------------------------------------------------------------

# Batch-norm moving mean / variance (Keras BN variables 2 and 3).
BN_STATISTICS = re.compile(r"norm\d*/vars/[23]$")


def keras_weights(path):
    """``{h5 path: array}`` of every variable stored in a ``.keras`` file."""
    weights = {}
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(raw, "r") as file:
            file.visititems(
                lambda name, item: (
                    weights.__setitem__(name, np.asarray(item))
                    if isinstance(item, h5py.Dataset)
                    else None
                )
            )
    return weights


def differences(path_a, path_b):
    """(max |a - b| of the learned weights, max |a - b| / |a| of the batch-norm
    moving statistics) of two ``.keras`` files."""
    weights_a, weights_b = keras_weights(path_a), keras_weights(path_b)
    assert weights_a.keys() == weights_b.keys()
    learned = [name for name in weights_a if not BN_STATISTICS.search(name)]
    statistics = [name for name in weights_a if BN_STATISTICS.search(name)]
    assert len(learned) > 50 and len(statistics) > 20
    largest = max(np.abs(weights_a[n] - weights_b[n]).max() for n in learned)
    relative = max(
        (np.abs(weights_a[n] - weights_b[n]) / np.abs(weights_a[n]).clip(1e-3)).max()
        for n in statistics
    )
    return float(largest), float(relative)
