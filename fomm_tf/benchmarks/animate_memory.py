"""Peak memory of streaming animation: a long driving video vs a short one.

    python -m fomm_tf.benchmarks.animate_memory [--long_frames 2000] [--json out.json]

Uses a tiny random-weight model at 64x64 (saved as .keras) and synthetic
driving videos; each measurement runs ``python -m fomm_tf.animate`` in a fresh
subprocess that reports its own peak resident memory (``ru_maxrss``), since
tracemalloc does not see TensorFlow's allocations. Streaming means the ratio
long / short stays near 1 (goal: within 1.5).
"""

import json
import os
import subprocess
import sys
import tempfile

import cv2
import imageio_ffmpeg
import keras
import numpy as np
import yaml
from absl import flags

from fomm_tf import build_models, cli
from fomm_tf.animate import MAX_BATCH
from fomm_tf.config import config_from_dict

FLAGS = flags.FLAGS
GOAL_RATIO = 1.5
FRAME_SIZE = 64


def tiny_config_dict(frame_size=FRAME_SIZE, num_kp=5):
    """A small FOMM config (widths 8..32): memory, not model size, is measured."""
    dense = dict(block_expansion=8, max_features=32, num_blocks=3, scale_factor=0.25)
    return {
        "dataset_params": {"frame_shape": [frame_size, frame_size, 3]},
        "model_params": {
            "common_params": {"num_kp": num_kp, "num_channels": 3,
                              "estimate_jacobian": True},
            "kp_detector_params": {"temperature": 0.1, "block_expansion": 8,
                                   "max_features": 32, "scale_factor": 0.25,
                                   "num_blocks": 3},
            "generator_params": {"block_expansion": 8, "max_features": 32,
                                 "num_down_blocks": 2, "num_bottleneck_blocks": 2,
                                 "estimate_occlusion_map": True,
                                 "dense_motion_params": dense},
            "discriminator_params": {"scales": [1], "block_expansion": 8,
                                     "max_features": 32, "num_blocks": 2, "sn": True},
        },
    }  # fmt: skip


def save_tiny_model(folder, seed=0):
    """Writes tiny.yaml and a random-weight tiny.keras; returns their paths."""
    keras.utils.set_random_seed(seed)
    config_path = os.path.join(folder, "tiny.yaml")
    with open(config_path, "w") as handle:
        yaml.safe_dump(tiny_config_dict(), handle)
    checkpoint = os.path.join(folder, "tiny.keras")
    build_models(config_from_dict(tiny_config_dict(), config_path)).save(checkpoint)
    return config_path, checkpoint


def make_driving_video(path, frames, size=160, fps=25):
    """A synthetic moving-pattern mp4 made by ffmpeg's testsrc."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f",
               "lavfi", "-i", f"testsrc=size={size}x{size}:rate={fps}",
               "-frames:v", str(frames), "-pix_fmt", "yuv420p", path]  # fmt: skip
    subprocess.run(command, check=True)


def peak_rss_mib(arguments, log_path):
    """Peak RSS (MiB) of a fresh ``python -m fomm_tf.animate`` run: the ``rusage``
    that ``os.wait4`` returns for that one child (Linux reports ru_maxrss in KiB).
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "fomm_tf.animate", "--noprogress", *arguments]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        with open(log_path) as log:
            raise RuntimeError(f"animate failed: {log.read().strip()[-500:]}")
    return usage.ru_maxrss / 1024


def measure(folder, frames, config, checkpoint, source, batch_size):
    video = os.path.join(folder, f"driving_{frames}.mp4")
    make_driving_video(video, frames)
    result = os.path.join(folder, f"result_{frames}.mp4")
    arguments = [f"--config={config}", f"--checkpoint={checkpoint}",
                 f"--source_image={source}", f"--driving_video={video}",
                 f"--result_video={result}", f"--batch_size={batch_size}"]  # fmt: skip
    return peak_rss_mib(arguments, os.path.join(folder, f"log_{frames}.txt"))


def run_benchmark(short_frames, long_frames, batch_size):
    """Peak RSS of the short and the long run, in MiB, and their ratio."""
    with tempfile.TemporaryDirectory() as folder:
        config, checkpoint = save_tiny_model(folder)
        source = os.path.join(folder, "source.png")
        rng = np.random.default_rng(0)
        noise = rng.uniform(0, 255, (20, 20, 3)).astype(np.uint8)
        cv2.imwrite(source, cv2.resize(noise, (200, 200)))
        peaks = {
            frames: measure(folder, frames, config, checkpoint, source, batch_size)
            for frames in (short_frames, long_frames)
        }
    return {
        "frame_size": FRAME_SIZE,
        "batch_size": batch_size,
        "short_frames": short_frames,
        "long_frames": long_frames,
        "short_peak_rss_mib": round(peaks[short_frames], 1),
        "long_peak_rss_mib": round(peaks[long_frames], 1),
        "ratio": round(peaks[long_frames] / peaks[short_frames], 3),
        "goal_ratio": GOAL_RATIO,
    }


def define_flags():
    """The command's flags, defined only when run as a command."""
    frames = {"lower_bound": 1, "upper_bound": 100_000}
    flags.DEFINE_integer(
        "short_frames", 100, "Frames of the short driving video.", **frames
    )
    flags.DEFINE_integer(
        "long_frames", 2000, "Frames of the long driving video.", **frames
    )
    flags.DEFINE_integer(
        "batch_size",
        8,
        "Driving frames per batch.",
        lower_bound=1,
        upper_bound=MAX_BATCH,
    )
    flags.DEFINE_string("json", "animate_memory.json", "Where to write the results.")


def main(argv):
    del argv
    results = run_benchmark(FLAGS.short_frames, FLAGS.long_frames, FLAGS.batch_size)
    print(f"{'driving frames':>16} {'peak RSS (MiB)':>16}")
    for key in ("short", "long"):
        print(f"{results[key + '_frames']:>16} {results[key + '_peak_rss_mib']:>16.1f}")
    verdict = "ok" if results["ratio"] <= GOAL_RATIO else "ABOVE GOAL"
    print(f"ratio long/short: {results['ratio']:.3f} (goal <= {GOAL_RATIO}: {verdict})")
    with open(FLAGS.json, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {FLAGS.json}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
