"""fomm-tf: the First Order Motion Model (Siarohin et al., NeurIPS 2019) in Keras 3.

Public API::

    models = fomm_tf.load_checkpoint("configs/vox-256.yaml", "vox-cpk.pth.tar")
    kp_source = models.kp_detector(source)            # {'value', 'jacobian'}
    kp_norm = fomm_tf.normalize_kp(kp_source, kp_driving, kp_driving_initial,
                                   use_relative_movement=True,
                                   use_relative_jacobian=True,
                                   adapt_movement_scale=True)
    out = models.generator(source, kp_source=kp_source, kp_driving=kp_norm)
"""

import importlib

from fomm_tf.errors import (
    CheckpointError,
    CheckpointMismatchError,
    ConfigError,
    FommError,
    MediaError,
)

# Imported on first use, so that commands which need no Keras (the LiteRT path
# of ``fomm_tf.animate``) never import TensorFlow.
_LAZY = {
    "FommModels": "fomm_tf.fomm_models",
    "build_models": "fomm_tf.fomm_models",
    "load_checkpoint": "fomm_tf.checkpoints",
    "load_config": "fomm_tf.config",
    "normalize_kp": "fomm_tf.inference.keypoint_normalization",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'fomm_tf' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "ConfigError",
    "FommError",
    "FommModels",
    "build_models",
    "load_checkpoint",
    "load_config",
    "MediaError",
    "normalize_kp",
]
__version__ = "0.1.0"
