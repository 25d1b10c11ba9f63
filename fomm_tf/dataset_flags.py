"""Flags shared by the dataset evaluation commands (reconstruct, animate_dataset)."""

from absl import flags

from fomm_tf.checkpoints import load_checkpoint


def define_dataset_flags(flag_values):
    """--config, --checkpoint (required), --dataset_root, --result_dir, --batch_size."""
    flags.DEFINE_string(
        "config", None, "Model config YAML (official format).", flag_values=flag_values
    )
    flags.DEFINE_string(
        "checkpoint",
        None,
        "Official .pth.tar or converted .keras file.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "dataset_root",
        None,
        "Dataset folder holding test/; default the config's root_dir.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "result_dir",
        "log",
        "Output folder (the official --log_dir).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "batch_size",
        4,
        "Frames per inference batch.",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.mark_flag_as_required("checkpoint", flag_values=flag_values)


def models_and_dataset_root(values):
    """The models of --config/--checkpoint and the dataset root (flag or config)."""
    models = load_checkpoint(values.config, values.checkpoint)
    root = values.dataset_root or models.config.dataset_params.root_dir
    if root is None:
        raise ValueError("--dataset_root is required (the config has no root_dir)")
    return models, root
