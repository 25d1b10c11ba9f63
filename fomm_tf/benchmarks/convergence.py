"""Convergence check: a tiny FOMM trained on cartoon heads beats the no-motion
baseline on held-out identities.

Seeded: a small heads dataset (:mod:`fomm_tf.synthetic_heads`, 32x32) is
written, ``fomm_tf/assets/heads-32-tiny.yaml`` is trained ``--steps`` steps with
random stand-in VGG weights, and the held-out reconstruction L1 (source = frame
0, every frame driving) is compared with the no-motion baseline (the source
copied)::

    python -m fomm_tf.benchmarks.convergence --steps 600 --json convergence.json

``tests/benchmarks/test_convergence.py`` runs it in CI (900 steps). Prints a
table and writes JSON.
"""

import dataclasses
import os
import tempfile
import time

from absl import flags

from fomm_tf import cli, heads_scores, load_checkpoint, load_config
from fomm_tf.benchmarks import report
from fomm_tf.config import MAX_COUNT
from fomm_tf.synthetic import write_dataset
from fomm_tf.training.session import VGG_RECIPE, TrainOptions, train

TINY_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "assets", "heads-32-tiny.yaml"
)


@dataclasses.dataclass(frozen=True)
class ConvergenceRun:
    """A seeded run: data, training length, and the config trained."""

    steps: int = 600
    seed: int = 0
    config: str = TINY_CONFIG
    num_videos: int = 80  # 40 identities x 2 clips; 4 identities held out
    frames: int = 16
    epochs: int = 3  # learning-rate milestones of the config count in these


FLAGS = flags.FLAGS


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_integer(
        "steps",
        600,
        "Training steps of the tiny config.",
        lower_bound=1,
        upper_bound=MAX_COUNT,
    )
    flags.DEFINE_integer(
        "seed",
        0,
        "Seed of the clips and of the training.",
        lower_bound=cli.SEED_RANGE[0],
        upper_bound=cli.SEED_RANGE[1],
    )
    flags.DEFINE_string("config", TINY_CONFIG, "Config to train (32x32 frames).")
    flags.DEFINE_string("json", None, "Also write the results here.")


def run(spec, workdir):
    """Train ``spec`` in ``workdir``; held-out reconstruction results."""
    root = os.path.join(workdir, "data")
    size = load_config(spec.config).dataset_params.frame_shape[0]
    write_dataset(
        root, spec.num_videos, spec.frames, size, spec.seed,
        videos_per_id=2, test_fraction=0.1, world="heads",
    )  # fmt: skip
    log_dir = os.path.join(workdir, "run")
    train(
        TrainOptions(
            config=spec.config,
            log_dir=log_dir,
            dataset_root=root,
            vgg_weights=VGG_RECIPE,
            epochs=spec.epochs,
            steps_per_epoch=max(1, spec.steps // spec.epochs),
            seed=spec.seed,
            save_every_steps=0,
            verbose=2,
        )
    )
    trained = load_checkpoint(None, os.path.join(log_dir, "models.keras"))
    clips = heads_scores.world_clips(root, "test")
    scores = heads_scores.reconstruction_details(trained, clips)
    return {
        "steps": spec.epochs * max(1, spec.steps // spec.epochs),
        "seed": spec.seed,
        "held_out_clips": len(clips),
        "reconstruction_l1": scores["model"],
        "warped_source_l1": scores["warped_source"],
        "no_motion_l1": scores["no_motion"],
        "ratio": scores["model"] / scores["no_motion"],
        "warped_source_ratio": scores["warped_source"] / scores["no_motion"],
    }


def print_table(results):
    print(f"{'quantity':<20}{'value':>12}")
    for key, value in results.items():
        text = f"{value:.5f}" if isinstance(value, float) else str(value)
        print(f"{key:<20}{text:>12}")


def main(argv):
    del argv
    start = time.time()
    spec = ConvergenceRun(steps=FLAGS.steps, seed=FLAGS.seed, config=FLAGS.config)
    with tempfile.TemporaryDirectory() as workdir:
        results = run(spec, workdir)
    report(results, start, print_table, FLAGS.json)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
