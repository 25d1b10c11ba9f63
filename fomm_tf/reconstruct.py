"""Reconstruction evaluation (official ``run.py --mode reconstruction``).

    python -m fomm_tf.reconstruct --config configs/vox-256.yaml \\
        --checkpoint vox-cpk.pth.tar --dataset_root data/vox-png --result_dir log

Each test video is reconstructed from its first frame (absolute driving
keypoints); prints per-video and mean L1 in [0, 1] pixel units and writes
``<result_dir>/reconstruction/png/<video>.png`` (prediction strip),
``<result_dir>/reconstruction/<video>.mp4`` (visualisation) and ``metrics.json``.
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
    flags.DEFINE_integer(
        "num_videos",
        None,
        "Evaluate at most this many videos; default reconstruction_params.num_videos.",
        lower_bound=1,
        flag_values=flag_values,
    )


def main(argv):
    no_arguments(argv)
    with errors_as_exit():
        models, root = models_and_dataset_root(FLAGS)
        results = evaluation.reconstruct_dataset(
            animation.KerasAnimator(models),
            models.config,
            root,
            FLAGS.result_dir,
            FLAGS.num_videos,
            FLAGS.batch_size,
        )
    evaluation.print_results(results, "Reconstruction loss")


if __name__ == "__main__":
    define_flags()
    app.run(main)
