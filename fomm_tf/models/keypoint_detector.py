"""Keypoint detector (official ``modules/keypoint_detector.py``, ``KPDetector``)."""

import keras
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.layers import AntiAliasDownsample, Hourglass
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import conv
from fomm_tf.models.traced_build import TracedBuildMixin


@keras.saving.register_keras_serializable(package="fomm_tf")
class KeypointDetector(ConfigFromInit, TracedBuildMixin, keras.Model):
    """Images (B, H, W, C) in [0, 1] -> K keypoints and local jacobians.

    Heatmaps are a softmax over each 7x7-valid-conv map divided by the
    temperature; keypoints are their expected grid coordinates (paper eq. 10's
    soft-argmax), jacobians the heatmap-weighted jacobian maps.
    """

    def __init__(
        self,
        *,
        num_kp,
        num_channels,
        block_expansion,
        max_features,
        num_blocks,
        temperature,
        estimate_jacobian,
        scale_factor,
        single_jacobian_map,
        pad,
        synchronized_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_kp = num_kp
        self.temperature = temperature
        self.predictor = Hourglass(
            block_expansion, max_features, num_blocks, synchronized_bn, name="predictor"
        )
        if pad not in (0, 3):
            raise ValueError(
                f"kp_detector_params.pad must be 0 or 3 (7x7 convs), got {pad}"
            )
        padding = "valid" if pad == 0 else "same"
        self.kp = conv(num_kp, 7, padding=padding, name="kp")
        self.num_jacobian_maps = 1 if single_jacobian_map else num_kp
        self.jacobian = None
        if estimate_jacobian:
            self.jacobian = keras.layers.Conv2D(
                4 * self.num_jacobian_maps,
                7,
                padding=padding,
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(
                    [1.0, 0.0, 0.0, 1.0] * self.num_jacobian_maps
                ),
                name="jacobian",
            )
        self.down = None
        if scale_factor != 1:
            self.down = AntiAliasDownsample(num_channels, scale_factor, name="down")

    def dummy_inputs(self, frame_shape):
        return (keras.ops.zeros((1, *frame_shape)),), {}

    def call(self, images, training=None):
        x = images if self.down is None else self.down(images)
        feature_map = self.predictor(x, training=training)
        heatmap = self.heatmap(feature_map)  # (B, h, w, K)
        out = {"value": self.soft_argmax(heatmap)}
        if self.jacobian is not None:
            out["jacobian"] = self.weighted_jacobian(feature_map, heatmap)
        return out

    def heatmap(self, feature_map):
        """Softmax over all pixels of each keypoint's logits / temperature."""
        logits = self.kp(feature_map)  # (B, h, w, K)
        shape = tf.shape(logits)
        flat = tf.reshape(logits, (shape[0], -1, self.num_kp)) / self.temperature
        return tf.reshape(tf.nn.softmax(flat, axis=1), shape)

    def soft_argmax(self, heatmap):
        """Expected (x, y) under each heatmap (official ``gaussian2kp``)."""
        grid = geometry.make_coordinate_grid(heatmap.shape[1], heatmap.shape[2])
        return tf.einsum("bhwk,hwc->bkc", heatmap, grid)  # (B, K, 2)

    def weighted_jacobian(self, feature_map, heatmap):
        """Sum over pixels of heatmap * jacobian map; channel 4k+j is [[a,b],[c,d]]."""
        maps = self.jacobian(feature_map)  # (B, h, w, 4 * maps)
        shape = tf.shape(maps)
        maps = tf.reshape(maps, (shape[0], shape[1], shape[2], -1, 4))
        jacobian = tf.reduce_sum(heatmap[..., None] * maps, axis=[1, 2])  # (B, K, 4)
        return tf.reshape(jacobian, (-1, self.num_kp, 2, 2))
