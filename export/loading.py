"""Models for the exporters: a checkpoint, or random weights for a config."""

from absl import flags

import fomm_tf
from fomm_tf.errors import ExportError


def define_model_flags():
    """``--config``, ``--checkpoint``, ``--random_weights`` (shared by the CLIs)."""
    flags.DEFINE_string("config", None, "model config YAML (optional for .keras)")
    flags.DEFINE_string("checkpoint", None, "official .pth.tar or converted .keras")
    flags.DEFINE_bool(
        "random_weights",
        False,
        "export randomly initialised models of --config (no checkpoint)",
    )


def load_models(config_path, checkpoint_path, random_weights=False):
    """``(FommModels, weights description)``; ``fomm_tf`` errors pass through."""
    if random_weights:
        if not config_path or checkpoint_path:
            raise ExportError("--random_weights needs --config and no --checkpoint")
        return fomm_tf.build_models(fomm_tf.load_config(config_path)), "random"
    if not checkpoint_path:
        raise ExportError("pass --checkpoint (or --random_weights with --config)")
    models = fomm_tf.load_checkpoint(config_path, checkpoint_path)
    return models, str(checkpoint_path)
