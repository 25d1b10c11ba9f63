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

from fomm_tf.checkpoints import load_checkpoint
from fomm_tf.config import load_config
from fomm_tf.errors import (
    CheckpointError,
    CheckpointMismatchError,
    ConfigError,
    FommError,
    MediaError,
)
from fomm_tf.fomm_models import FommModels, build_models
from fomm_tf.inference.keypoint_normalization import normalize_kp

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
