"""``load_checkpoint``: official ``.pth.tar`` or converted ``.keras`` files.

Keras is imported when a model is built, not with this module, so a command can
check its paths (``is_converted``) before paying for TensorFlow.
"""

import os
import zipfile

from fomm_tf import config as config_lib
from fomm_tf import torch_checkpoint
from fomm_tf.errors import CheckpointError, CheckpointMismatchError, one_line

REQUIRED_SECTIONS = ("kp_detector", "generator")
KERAS_SUFFIX = ".keras"


def is_converted(path):
    """True for a ``.keras`` file written by ``fomm_tf.convert``."""
    return os.fspath(path).endswith(KERAS_SUFFIX)


def _model_params_differences(expected, actual, prefix="model_params"):
    """Dotted keys whose values differ between two model_params dicts."""
    keys = sorted(set(expected) | set(actual))
    differences = []
    for key in keys:
        left, right = expected.get(key), actual.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            differences += _model_params_differences(left, right, f"{prefix}.{key}")
        elif left != right and key != "align_corners":
            differences.append(
                f"{prefix}.{key} ({right!r} in file, {left!r} in config)"
            )
    return differences


def _check_same_model(cfg, saved, path):
    expected = config_lib.config_to_dict(cfg)["model_params"]
    actual = config_lib.config_to_dict(saved)["model_params"]
    differences = _model_params_differences(expected, actual)
    if differences:
        raise CheckpointMismatchError(
            f"{path}: checkpoint does not match the config: " + ", ".join(differences)
        )


def _load_converted(cfg, path, align_corners):
    """A ``.keras`` file; ``cfg`` (None: the stored one) must describe its model."""
    from fomm_tf import fomm_models

    saved = fomm_models.read_saved_config(path)
    if cfg is not None:
        _check_same_model(cfg, saved, path)
    models = fomm_models.declared_models(
        _with_align_corners(cfg or saved, align_corners)
    )
    try:
        with fomm_models.extracted_weights(
            path, fomm_models.weight_bytes(models)
        ) as weights:
            fomm_models.allocate(models)
            models.load_weights(weights)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"{path}: the weights do not load ({one_line(error)[:200]})"
        ) from None
    return models


def _load_official(cfg, path):
    from fomm_tf.checkpoint_import import assign_state_dicts
    from fomm_tf.fomm_models import build_models

    state_dicts = torch_checkpoint.load_state_dicts(
        path, REQUIRED_SECTIONS, optional=("discriminator",)
    )
    models = build_models(cfg)
    try:
        assign_state_dicts(models, state_dicts)
    except CheckpointMismatchError as error:
        raise CheckpointMismatchError(f"{path}: {error}") from None
    return models


def load_checkpoint(config_path, checkpoint_path, align_corners=None):
    """The FOMM models of a checkpoint, with weights.

    Args:
      config_path: a YAML config in the official format; may be None for a
        converted ``.keras`` file, which stores its config.
      checkpoint_path: an official ``.pth.tar`` (zip or legacy pickle format) or
        a ``.keras`` file written by ``fomm_tf.convert``.
      align_corners: overrides the config's grid-sampling convention.

    Returns:
      ``FommModels`` with ``.kp_detector``, ``.generator``, ``.discriminator``
      and ``.config``.
    """
    checkpoint_path = os.fspath(checkpoint_path)
    if not os.path.isfile(checkpoint_path):
        raise CheckpointError(f"{checkpoint_path}: no such file")
    cfg = config_lib.load_config(config_path) if config_path is not None else None
    if is_converted(checkpoint_path):
        return _load_converted(cfg, checkpoint_path, align_corners)
    if cfg is None:
        raise ValueError(f"{checkpoint_path}: an official checkpoint needs --config")
    return _load_official(_with_align_corners(cfg, align_corners), checkpoint_path)


def _with_align_corners(cfg, align_corners):
    if align_corners is None:
        return cfg
    return config_lib.with_align_corners(cfg, bool(align_corners))


__all__ = ["load_checkpoint"]
