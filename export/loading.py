"""Models for the exporters: a checkpoint, or random weights for a config."""

import hashlib
from pathlib import Path

from absl import flags

import fomm_tf
from fomm_tf.config import with_align_corners
from fomm_tf.errors import ExportError


def define_model_flags():
    """``--config``, ``--checkpoint``, ``--random_weights``, ``--align_corners``
    (shared by the CLIs)."""
    flags.DEFINE_string("config", None, "model config YAML (optional for .keras)")
    flags.DEFINE_string("checkpoint", None, "official .pth.tar or converted .keras")
    flags.DEFINE_bool(
        "random_weights",
        False,
        "export randomly initialised models of --config (no checkpoint)",
    )
    flags.DEFINE_enum(
        "align_corners",
        None,
        ["true", "false"],
        "override the config's grid-sampling convention (default: the config's); "
        "the model card records the one exported",
    )


def load_models(config_path, checkpoint_path, random_weights=False, align_corners=None):
    """``(FommModels, weights)``: ``weights`` is ``"random"`` or the checkpoint's
    :func:`weights_record`; ``align_corners`` (None: the config's) overrides the
    grid-sampling convention. ``fomm_tf`` errors pass through."""
    if random_weights:
        if not config_path or checkpoint_path:
            raise ExportError("--random_weights needs --config and no --checkpoint")
        cfg = fomm_tf.load_config(config_path)
        if align_corners is not None:
            cfg = with_align_corners(cfg, align_corners)
        return fomm_tf.build_models(cfg), "random"
    if not checkpoint_path:
        raise ExportError("pass --checkpoint (or --random_weights with --config)")
    models = fomm_tf.load_checkpoint(config_path, checkpoint_path, align_corners)
    return models, weights_record(checkpoint_path)


def weights_record(path):
    """What a model card says about a checkpoint: its file name and sha256 (not
    its local path, which would ship with the export)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return {"file": Path(path).name, "sha256": sha.hexdigest()}
