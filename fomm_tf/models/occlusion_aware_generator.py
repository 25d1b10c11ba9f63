"""Occlusion-aware generator (official ``modules/generator.py``)."""

import keras
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.layers import DownBlock, ResBlock, SameBlock, UpBlock
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import conv
from fomm_tf.models.dense_motion_network import DenseMotionNetwork
from fomm_tf.models.traced_build import TracedBuildMixin, dummy_keypoints


def _resize_to(tensor, height, width):
    """Bilinear resize as torch ``F.interpolate(mode='bilinear')`` (half-pixel)."""
    if tensor.shape[1] == height and tensor.shape[2] == width:
        return tensor
    return tf.cast(tf.image.resize(tensor, (height, width), "bilinear"), tensor.dtype)


@keras.saving.register_keras_serializable(package="fomm_tf")
class OcclusionAwareGenerator(ConfigFromInit, TracedBuildMixin, keras.Model):
    """Encode the source, warp its features by the dense motion, mask them by the
    occlusion map (paper eq. 8), decode the animated frame.

    Call: ``generator(source, kp_source=..., kp_driving=...)`` with images
    (B, H, W, C) in [0, 1]; returns ``prediction`` (B, H, W, C) and, with a dense
    motion network, ``mask``, ``sparse_deformed``, ``occlusion_map``,
    ``deformation`` and ``deformed``.
    """

    def __init__(
        self,
        *,
        num_kp,
        num_channels,
        block_expansion,
        max_features,
        num_down_blocks,
        num_bottleneck_blocks,
        estimate_occlusion_map,
        dense_motion_params,
        estimate_jacobian,
        align_corners,
        synchronized_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_kp = num_kp
        self.dense_motion_params = dict(dense_motion_params or {}) or None
        self.estimate_jacobian = estimate_jacobian
        self.align_corners = align_corners
        self.dense_motion_network = None
        if self.dense_motion_params:
            self.dense_motion_network = DenseMotionNetwork(
                num_kp=num_kp,
                num_channels=num_channels,
                estimate_occlusion_map=estimate_occlusion_map,
                align_corners=align_corners,
                synchronized_bn=synchronized_bn,
                name="dense_motion_network",
                **self.dense_motion_params,
            )
        sync = synchronized_bn
        self.first = SameBlock(block_expansion, 7, sync, name="first")
        width = [
            min(max_features, block_expansion * 2**i)
            for i in range(num_down_blocks + 1)
        ]
        self.down_blocks = [
            DownBlock(width[i + 1], 3, sync, name=f"down_{i}")
            for i in range(num_down_blocks)
        ]
        self.bottleneck = [
            ResBlock(width[-1], 3, sync, name=f"r{i}")
            for i in range(num_bottleneck_blocks)
        ]
        self.up_blocks = [
            UpBlock(width[num_down_blocks - i - 1], 3, sync, name=f"up_{i}")
            for i in range(num_down_blocks)
        ]
        self.final = conv(num_channels, 7, name="final")

    def dummy_inputs(self, frame_shape):
        kp = dummy_keypoints(self.num_kp, self.estimate_jacobian)
        source = keras.ops.zeros((1, *frame_shape))
        return (source,), {"kp_source": kp, "kp_driving": kp}

    def warp(self, image, deformation):
        """Sample ``image`` at the flow, resized bilinearly to its size if needed."""
        deformation = _resize_to(deformation, image.shape[1], image.shape[2])
        return geometry.grid_sample(image, deformation, self.align_corners)

    def encode(self, source, training=None):
        """Source features at 1 / 2^num_down_blocks resolution (cacheable)."""
        out = self.first(source, training=training)
        for block in self.down_blocks:
            out = block(out, training=training)
        return out

    def decode(self, features, training=None):
        """Bottleneck residual blocks, up blocks, sigmoid output image."""
        out = features
        for block in self.bottleneck:
            out = block(out, training=training)
        for block in self.up_blocks:
            out = block(out, training=training)
        return tf.sigmoid(tf.cast(self.final(out), tf.float32))  # bfloat16 decoders

    def moved_features(self, source, features, kp_source, kp_driving, training=None):
        """(dense motion dict, source features warped by it times the occlusion
        map, paper eq. 8)."""
        motion = self.dense_motion_network(
            source, kp_driving, kp_source, training=training
        )
        return motion, self.apply_motion(features, motion)

    def apply_motion(self, features, motion):
        """``features`` warped by ``motion["deformation"]``, times its occlusion
        map when it has one."""
        features = self.warp(features, motion["deformation"])
        if "occlusion_map" in motion:
            occlusion = _resize_to(
                motion["occlusion_map"], features.shape[1], features.shape[2]
            )
            features = features * occlusion
        return features

    def call(self, source, kp_source, kp_driving, training=None, source_features=None):
        """``source_features``: ``encode(source)`` when the caller has it already."""
        features = source_features
        if features is None:
            features = self.encode(source, training=training)
        out = {}
        if self.dense_motion_network is not None:
            motion, features = self.moved_features(
                source, features, kp_source, kp_driving, training
            )
            out.update(motion)
            out["deformed"] = self.warp(source, motion["deformation"])
        out["prediction"] = self.decode(features, training=training)
        return out
