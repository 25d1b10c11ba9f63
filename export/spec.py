"""Shapes and names of the exported tensors, derived from a ``FommConfig``."""

import dataclasses

import tensorflow as tf

from fomm_tf.inference.normalization_switches import (
    FLAG_NAMES,
    flags_from_keywords,
    keywords,
)


@dataclasses.dataclass(frozen=True)
class ExportSpec:
    """What the exported signatures look like for one model config."""

    height: int
    width: int
    channels: int
    num_kp: int
    has_jacobian: bool
    default_flags: tuple[float, float, float]
    feature_shape: tuple[int, int, int]
    align_corners: bool

    @classmethod
    def from_models(cls, models):
        """Spec of built ``FommModels`` (frame shape and widths from its config)."""
        cfg = models.config
        height, width, channels = cfg.dataset_params.frame_shape
        norm = cfg.animate_params.normalization_params
        features = models.generator.encode(tf.zeros((1, height, width, channels)))
        return cls(
            height=int(height),
            width=int(width),
            channels=int(channels),
            num_kp=cfg.model_params.common_params.num_kp,
            has_jacobian=bool(cfg.model_params.common_params.estimate_jacobian),
            default_flags=tuple(flags_from_keywords(keywords(norm)).tolist()),
            feature_shape=tuple(int(d) for d in features.shape[1:]),
            align_corners=bool(cfg.model_params.common_params.align_corners),
        )

    def image(self, name, batch):
        return tf.TensorSpec(
            (batch, self.height, self.width, self.channels), tf.float32, name=name
        )

    def features(self, batch):
        return tf.TensorSpec(
            (batch, *self.feature_shape), tf.float32, name="source_features"
        )

    def keypoints(self, prefix, batch):
        """``<prefix>_value`` (B, K, 2) and, with jacobians, ``<prefix>_jacobian``."""
        specs = [
            tf.TensorSpec((batch, self.num_kp, 2), tf.float32, name=f"{prefix}_value")
        ]
        if self.has_jacobian:
            specs.append(
                tf.TensorSpec(
                    (batch, self.num_kp, 2, 2), tf.float32, name=f"{prefix}_jacobian"
                )
            )
        return specs

    @staticmethod
    def flags():
        return tf.TensorSpec((len(FLAG_NAMES),), tf.float32, name="normalization_flags")
