"""Convert an official FOMM ``.pth.tar`` checkpoint into a ``.keras`` file.

    python -m fomm_tf.convert --config configs/vox-256.yaml \
        --checkpoint vox-cpk.pth.tar --output vox.keras

The output stores the config and all weights; it loads with
``fomm_tf.load_checkpoint(None, "vox.keras")`` without torch or the original file.
"""

import os

from absl import flags

from fomm_tf.checkpoints import load_checkpoint
from fomm_tf.cli import errors_as_exit, optional_bool, run
from fomm_tf.output_paths import check_not_input, make_temp_file

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """The command's flags, defined only when run as a command (no import clashes)."""
    flags.DEFINE_string(
        "config", None, "Official-format YAML config.", flag_values=flag_values
    )
    flags.DEFINE_string(
        "checkpoint", None, "Official .pth.tar to convert.", flag_values=flag_values
    )
    flags.DEFINE_string(
        "output", None, "Path of the .keras file to write.", flag_values=flag_values
    )
    flags.DEFINE_enum(
        "align_corners",
        None,
        ["true", "false"],
        "Override the config's grid-sampling convention (default: the config's).",
        flag_values=flag_values,
    )
    flags.mark_flags_as_required(
        ["config", "checkpoint", "output"], flag_values=flag_values
    )


def convert(config_path, checkpoint_path, output_path, align_corners=None):
    """Import the checkpoint and write it atomically to ``output_path``."""
    output_path = os.fspath(output_path)
    if not output_path.endswith(".keras"):
        raise ValueError(f"{output_path}: the output file must end in .keras")
    directory = os.path.dirname(os.path.abspath(output_path))
    if not os.path.isdir(directory):
        raise ValueError(f"{output_path}: directory {directory} does not exist")
    if os.path.lexists(output_path) and not os.path.isfile(output_path):
        raise ValueError(f"{output_path}: exists and is not a regular file")
    check_not_input(
        output_path,
        (("--checkpoint", checkpoint_path), ("--config", config_path)),
        "--output",
    )
    models = load_checkpoint(config_path, checkpoint_path, align_corners)
    temporary = make_temp_file(output_path, "tmp", ".keras")
    try:
        models.save(temporary)
        os.replace(temporary, output_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return output_path


def main(argv):
    del argv
    align_corners = optional_bool(FLAGS.align_corners)
    with errors_as_exit():
        path = convert(FLAGS.config, FLAGS.checkpoint, FLAGS.output, align_corners)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    define_flags()
    run(main)
