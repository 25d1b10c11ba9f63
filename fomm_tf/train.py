"""Train FOMM with Keras ``fit``: start, resume after any crash, or fine-tune.

    python -m fomm_tf.train --config configs/vox-256.yaml --log_dir runs/vox \\
        --dataset_root data/vox-png --vgg_weights vgg19-dcbb9e9d.pth

Running the same command again resumes from the newest checkpoint in
``log_dir/checkpoints`` (exactly: same data, warps and learning rates as an
uninterrupted run).  ``--checkpoint`` (an official ``.pth.tar`` or our
``.keras``) sets the starting weights of a new run.  All local GPUs are used
(``MirroredStrategy``); with a multi-worker ``TF_CONFIG`` the run spans the
workers (``MultiWorkerMirroredStrategy``).  ``--batch_size`` is the global batch.
"""

import tensorflow as tf
from absl import flags

from fomm_tf.cli import SEED_RANGE, errors_as_exit, no_arguments, run
from fomm_tf.config import MAX_COUNT
from fomm_tf.training.session import VGG_RECIPE, TrainOptions, train

FLAGS = flags.FLAGS


def define_flags():
    """Define the command's flags (only when run as a command).

    ``--log_dir`` (the run folder, the official name) is absl.logging's own flag,
    which names a folder for absl's log files; a second flag of that name cannot
    be defined, so the command takes it over on purpose and says so in its help.
    absl writes log files there only for a program that asks for them
    (``use_absl_log_file``), which fomm-tf never does.
    """
    FLAGS["log_dir"].help = (
        "Run folder: checkpoints, logs, exports (required; absl's --log_dir, "
        "taken over by this command)."
    )
    flags.DEFINE_string("config", None, "Config YAML (official format).")
    flags.DEFINE_string(
        "checkpoint", None, "Starting weights: official .pth.tar or our .keras."
    )
    flags.DEFINE_string(
        "dataset_root", None, "Dataset root (default: dataset_params.root_dir)."
    )
    flags.DEFINE_string(
        "vgg_weights",
        None,
        "VGG19 weights for the perceptual loss: torchvision .pth, Keras .h5, or "
        f"'{VGG_RECIPE}' (random stand-in).",
    )
    counts = {"lower_bound": 1, "upper_bound": MAX_COUNT}
    flags.DEFINE_integer(
        "epochs",
        None,
        "Override train_params.num_epochs (0: write the starting model, no training).",
        lower_bound=0,
        upper_bound=MAX_COUNT,
    )
    flags.DEFINE_integer(
        "steps_per_epoch",
        None,
        "Steps per epoch (default: one pass of the data).",
        **counts,
    )
    flags.DEFINE_integer("batch_size", None, "Global batch size override.", **counts)
    flags.DEFINE_integer(
        "seed",
        0,
        "Seed of the data order, augmentation and warps.",
        lower_bound=SEED_RANGE[0],
        upper_bound=SEED_RANGE[1],
    )
    flags.DEFINE_integer(
        "save_every_steps",
        100,
        "Mid-epoch checkpoint period (0: epoch ends only).",
        lower_bound=0,
        upper_bound=MAX_COUNT,
    )
    flags.mark_flag_as_required("config")


def options_from_flags(values):
    """``TrainOptions`` from parsed flag values."""
    return TrainOptions(
        config=values.config,
        log_dir=values.log_dir,
        checkpoint=values.checkpoint,
        dataset_root=values.dataset_root,
        vgg_weights=values.vgg_weights,
        epochs=values.epochs,
        steps_per_epoch=values.steps_per_epoch,
        batch_size=values.batch_size,
        seed=values.seed,
        save_every_steps=values.save_every_steps,
    )


def main(argv):
    no_arguments(argv)
    with errors_as_exit(extra=(tf.errors.OpError,)):
        if not FLAGS.log_dir:
            raise ValueError("--log_dir is required")
        losses = train(options_from_flags(FLAGS))
    summary = "; ".join(f"{name} - {value:.5f}" for name, value in losses.items())
    print(f"done: {FLAGS.log_dir}/models.keras {summary}")


if __name__ == "__main__":
    define_flags()
    run(main)
