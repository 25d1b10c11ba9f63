"""Input-pipeline throughput: frame pairs per second, png folders vs mp4.

Writes synthetic 256x256 clips (both formats) to a temporary directory, then
times :func:`fomm_tf.data.make_train_dataset` with and without the config's
augmentations (vox-256: flips and colour jitter). Prints a table and writes
JSON::

    python -m fomm_tf.benchmarks.input_pipeline [--json_out FILE]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from absl import flags

import fomm_tf
from fomm_tf import cli, data, synthetic
from fomm_tf.benchmarks import write_json
from fomm_tf.config import AugmentationParams, FommConfig

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI flags, defined only when run as a program."""
    flags.DEFINE_string("config", "configs/vox-256.yaml", "Config: augmentations.")
    counts = {"lower_bound": 1, "upper_bound": 10_000}
    flags.DEFINE_integer(
        "size", 256, "Frame height and width.", lower_bound=8, upper_bound=1024
    )
    flags.DEFINE_integer(
        "num_videos", 10, "Synthetic clips per format (8 train).", **counts
    )
    flags.DEFINE_integer("frames", 32, "Frames per clip.", **counts)
    flags.DEFINE_integer("batch_size", 8, "Pairs per batch.", **counts)
    flags.DEFINE_integer("batches", 40, "Timed batches per row.", **counts)
    flags.DEFINE_integer(
        "warmup", 5, "Untimed batches first.", lower_bound=0, upper_bound=10_000
    )
    flags.DEFINE_string("json_out", "input_pipeline_benchmark.json", "JSON result.")


def pairs_per_second(
    cfg: FommConfig, root: Path, batch_size: int, batches: int, warmup: int
) -> float:
    """Frame pairs per second delivered by the training pipeline."""
    iterator = iter(data.make_train_dataset(cfg, root, batch_size, seed=0))
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def run(cfg: FommConfig, workdir: Path) -> list[dict]:
    """One row per (format, augmentation) setting."""
    size = FLAGS.size
    dataset = dataclasses.replace(cfg.dataset_params, frame_shape=(size, size, 3))
    cfg = dataclasses.replace(cfg, dataset_params=dataset)
    plain = dataclasses.replace(
        cfg,
        dataset_params=dataclasses.replace(
            dataset, augmentation_params=AugmentationParams()
        ),
    )
    rows = []
    for video_format in synthetic.FORMATS:
        root = workdir / video_format
        synthetic.write_dataset(
            root, FLAGS.num_videos, FLAGS.frames, size, 0, video_format
        )
        for augmented, config in ((True, cfg), (False, plain)):
            rate = pairs_per_second(
                config, root, FLAGS.batch_size, FLAGS.batches, FLAGS.warmup
            )
            rows.append(
                {
                    "format": video_format,
                    "augmentation": augmented,
                    "frame_size": size,
                    "batch_size": FLAGS.batch_size,
                    "pairs_per_second": round(rate, 1),
                }
            )
    return rows


def print_table(rows: list[dict]) -> None:
    """The rows as a fixed-width table."""
    print(f"{'format':<8}{'augmentation':<14}{'size':>6}{'batch':>7}{'pairs/s':>10}")
    for row in rows:
        augmentation = "yes" if row["augmentation"] else "no"
        print(
            f"{row['format']:<8}{augmentation:<14}{row['frame_size']:>6}"
            f"{row['batch_size']:>7}{row['pairs_per_second']:>10.1f}"
        )


def main(argv: list[str]) -> None:
    """Generate data, time the pipeline, print and save the results."""
    del argv
    json_path = Path(FLAGS.json_out).resolve()
    if not json_path.parent.is_dir():
        sys.exit(f"error: {json_path.parent} does not exist")
    try:
        cfg = fomm_tf.load_config(FLAGS.config)
    except fomm_tf.ConfigError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory() as workdir:
        rows = run(cfg, Path(workdir))
    print_table(rows)
    result = {
        "benchmark": "input_pipeline",
        "config": FLAGS.config,
        "frames_per_clip": FLAGS.frames,
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    write_json(json_path, result)
    print(f"wrote {json_path}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
