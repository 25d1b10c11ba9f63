"""Ground-truth scores of a model on the cartoon-heads world (held-out identities).

    python -m fomm_tf.benchmarks.ground_truth --json ground_truth.json

scores the bundled model on the held-out identities of the world it was trained
on (``fomm_tf/assets/heads-64-world.json``: the clips are rendered from its
seed, so no dataset needs to be on disk). ``--model`` / ``--world`` score any
``.keras`` model on any heads world (a ``world.json`` or a dataset root written
by ``python -m fomm_tf.synthetic --world heads``). Prints a table and writes
JSON; see :mod:`fomm_tf.heads_scores` for the protocol.
"""

import os
import time

from absl import flags

from fomm_tf import heads_scores, load_checkpoint
from fomm_tf.benchmarks import report
from fomm_tf.cli import errors_as_exit, run

ASSETS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets")
BUNDLED_MODEL = os.path.join(ASSETS, "synthetic-64.keras")
BUNDLED_WORLD = os.path.join(ASSETS, "heads-64-world.json")

FLAGS = flags.FLAGS


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_string("model", BUNDLED_MODEL, ".keras model to score.")
    flags.DEFINE_string("world", BUNDLED_WORLD, "world.json or heads dataset root.")
    flags.DEFINE_string("json", None, "Also write the results here.")


def score(model_path, world):
    """Every ground-truth score of ``model_path`` on ``world``'s held-out clips."""
    models = load_checkpoint(None, model_path)
    test = heads_scores.world_clips(world, "test")
    train = heads_scores.world_clips(world, "train")
    reconstruction = heads_scores.reconstruction_scores(models, test)
    animation = heads_scores.animation_scores(models, test)
    keypoints = heads_scores.keypoint_scores(models, train, test)
    rows = {
        "reconstruction_l1": reconstruction,
        "cross_identity_l1": animation,
        "landmark_error_px": keypoints,
    }
    return {
        "model": os.path.basename(model_path),
        "held_out_clips": len(test),
        "frame_size": models.config.dataset_params.frame_shape[0],
        "scores": {
            name: {"model": value, "baseline": base, "ratio": value / base}
            for name, (value, base) in rows.items()
        },
    }


def print_table(results):
    print(
        f"held-out clips: {results['held_out_clips']}, "
        f"frame size {results['frame_size']}"
    )
    print(f"{'score':<22}{'model':>10}{'baseline':>10}{'ratio':>8}")
    for name, row in results["scores"].items():
        print(
            f"{name:<22}{row['model']:>10.4f}{row['baseline']:>10.4f}"
            f"{row['ratio']:>8.2f}"
        )
    print("baselines: no-motion (source copied) for L1, mean layout for landmarks")


def main(argv):
    del argv
    start = time.time()
    with errors_as_exit():
        results = score(FLAGS.model, FLAGS.world)
    report(results, start, print_table, FLAGS.json)


if __name__ == "__main__":
    define_flags()
    run(main)
