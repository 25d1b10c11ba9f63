"""Animation evaluation (official ``run.py --mode animate``).

    python -m fomm_tf.animate_dataset --config configs/vox-256.yaml \\
        --checkpoint vox-cpk.pth.tar --dataset_root data/vox-png --result_dir log

Pairs (driving video, source video) come from the ``pairs_list`` CSV (columns
``distance, source, driving, frame``; rows whose videos are not in the test set
are skipped, the first ``num_pairs`` kept; ``frame`` is unused, as in the
official code) or, without a CSV, are drawn at random with the official
``PairedDataset`` rule (seed 0). The first frame of the source video is driven
by the driving video with the config's ``normalization_params``; writes
``<result_dir>/animation/png/<driving>-<source>.png`` and the visualisation video.
"""

from absl import app, flags

from fomm_tf import animation, evaluation
from fomm_tf.cli import errors_as_exit, no_arguments
from fomm_tf.dataset_flags import define_dataset_flags, models_and_dataset_root

FLAGS = flags.FLAGS


def define_flags(flag_values=flags.FLAGS):
    """Define the command's flags (only when run as a command, so that
    importing this module never clashes with other modules' flags)."""
    define_dataset_flags(flag_values)
    flags.DEFINE_string(
        "pairs_list",
        None,
        "CSV of pairs; default the config's dataset_params.pairs_list; 'random' "
        "draws random pairs.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "num_pairs",
        None,
        "At most this many pairs; default animate_params.num_pairs.",
        lower_bound=1,
        flag_values=flag_values,
    )


def main(argv):
    no_arguments(argv)
    with errors_as_exit():
        models, root = models_and_dataset_root(FLAGS)
        pairs_list = FLAGS.pairs_list or models.config.dataset_params.pairs_list
        if pairs_list == "random":
            pairs_list = None
        results = evaluation.animate_dataset(
            animation.KerasAnimator(models),
            models.config,
            root,
            FLAGS.result_dir,
            pairs_list,
            FLAGS.num_pairs,
            FLAGS.batch_size,
        )
    evaluation.print_results(results, "Animation (L1 to driving)")


if __name__ == "__main__":
    define_flags()
    app.run(main)
