"""Training-step benchmark: vox-256 at 256x256 on this machine.

    python -m fomm_tf.benchmarks.train_step --batch_sizes 1,2 --steps 3 \\
        --json train_step.json

Times ``FommTrainer.train_step`` (generator + detector update, discriminator
update when the config trains it) after one warm-up step, with the stand-in
VGG19 weights (same cost as the real ones), and reports the process's peak
resident memory.
"""

import json
import resource
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from fomm_tf import load_config
from fomm_tf.training.session import VGG_RECIPE, build_trainer

FLAGS = flags.FLAGS


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_string("config", "configs/vox-256.yaml", "Config to benchmark.")
    flags.DEFINE_list("batch_sizes", ["1", "2"], "Batch sizes to time.")
    flags.DEFINE_integer("steps", 3, "Timed steps per batch size (after 1 warm-up).")
    flags.DEFINE_string("json", None, "Also write the results here.")


def peak_memory_mib():
    """Peak resident set size of this process (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(trainer, batch_size, frame_shape, steps):
    """Seconds per ``train_step`` (median of ``steps``), after a warm-up."""
    rng = np.random.default_rng(0)
    batch = {
        key: tf.constant(rng.random((batch_size, *frame_shape), np.float32))
        for key in ("source", "driving")
    }
    step = tf.function(trainer.train_step)
    step(batch)
    durations = []
    for _ in range(steps):
        start = time.perf_counter()
        logs = step(batch)
        float(next(iter(logs.values())))
        durations.append(time.perf_counter() - start)
    return float(np.median(durations))


def main(argv):
    del argv
    cfg = load_config(FLAGS.config)
    trainer = build_trainer(cfg, VGG_RECIPE, synchronized_bn=False)
    frame_shape = tuple(cfg.dataset_params.frame_shape)
    rows = []
    for batch_size in map(int, FLAGS.batch_sizes):
        seconds = time_steps(trainer, batch_size, frame_shape, FLAGS.steps)
        rows.append(
            {
                "batch_size": batch_size,
                "seconds_per_step": seconds,
                "pairs_per_second": batch_size / seconds,
                "peak_memory_mib": peak_memory_mib(),
            }
        )
    print(f"{'batch':>6}{'s/step':>10}{'pairs/s':>10}{'peak MiB':>10}")
    for row in rows:
        print(
            f"{row['batch_size']:>6}{row['seconds_per_step']:>10.2f}"
            f"{row['pairs_per_second']:>10.3f}{row['peak_memory_mib']:>10.0f}"
        )
    if FLAGS.json:
        with open(FLAGS.json, "w") as file:
            json.dump({"config": FLAGS.config, "rows": rows}, file, indent=2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
