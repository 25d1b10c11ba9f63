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

import sys

import tensorflow as tf
from absl import app, flags

from fomm_tf.training.progress_checkpoint import NonFiniteLossError
from fomm_tf.training.session import VGG_RECIPE, TrainOptions, train

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "Config YAML (official format).")
# ``--log_dir`` is absl.logging's flag (it only names a folder); reuse it.
FLAGS["log_dir"].help = "Run folder: checkpoints, logs, exports."
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
flags.DEFINE_integer("epochs", None, "Override train_params.num_epochs.")
flags.DEFINE_integer(
    "steps_per_epoch", None, "Steps per epoch (default: one pass of the data)."
)
flags.DEFINE_integer("batch_size", None, "Global batch size override.")
flags.DEFINE_integer("seed", 0, "Seed of the data order, augmentation and warps.")
flags.DEFINE_integer(
    "save_every_steps", 100, "Mid-epoch checkpoint period (0: epoch ends only)."
)
flags.mark_flag_as_required("config")


def options_from_flags():
    """``TrainOptions`` from the parsed flags."""
    return TrainOptions(
        config=FLAGS.config,
        log_dir=FLAGS.log_dir,
        checkpoint=FLAGS.checkpoint,
        dataset_root=FLAGS.dataset_root,
        vgg_weights=FLAGS.vgg_weights,
        epochs=FLAGS.epochs,
        steps_per_epoch=FLAGS.steps_per_epoch,
        batch_size=FLAGS.batch_size,
        seed=FLAGS.seed,
        save_every_steps=FLAGS.save_every_steps,
    )


def main(argv):
    del argv
    if not FLAGS.log_dir:
        print("error: --log_dir is required", file=sys.stderr)
        sys.exit(1)
    try:
        losses = train(options_from_flags())
    except (ValueError, OSError, NonFiniteLossError, tf.errors.OpError) as error:
        message = str(error).strip().splitlines()
        print(
            f"error: {message[0] if message else type(error).__name__}", file=sys.stderr
        )
        sys.exit(1)
    summary = "; ".join(f"{name} - {value:.5f}" for name, value in losses.items())
    print(f"done: {FLAGS.log_dir}/models.keras {summary}")


if __name__ == "__main__":
    app.run(main)
