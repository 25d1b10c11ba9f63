"""The four FOMM networks as Keras 3 models."""

from fomm_tf.models.dense_motion_network import DenseMotionNetwork
from fomm_tf.models.discriminator import Discriminator
from fomm_tf.models.keypoint_detector import KeypointDetector
from fomm_tf.models.multi_scale_discriminator import MultiScaleDiscriminator
from fomm_tf.models.occlusion_aware_generator import OcclusionAwareGenerator

__all__ = [
    "DenseMotionNetwork",
    "Discriminator",
    "KeypointDetector",
    "MultiScaleDiscriminator",
    "OcclusionAwareGenerator",
]
