"""Gaussian blur then subsampling (official ``AntiAliasInterpolation2d``)."""

import keras
import tensorflow as tf

from fomm_tf import conventions, geometry
from fomm_tf.layers.init_config import ConfigFromInit


@keras.saving.register_keras_serializable(package="fomm_tf")
class AntiAliasDownsample(ConfigFromInit, keras.layers.Layer):
    """Blur with a normalised gaussian, zero padding, keep every 1/scale pixel.

    At scale 0.25: sigma 1.5, 13x13 kernel, padding 6, pixels 0, 4, 8, ...
    The kernel is a fixed (non-trainable) weight, stored in checkpoints as
    ``down.weight``.
    """

    def __init__(self, channels, scale, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.scale = scale
        self.kernel_size = conventions.anti_alias_kernel_size(scale)
        self.stride = int(1 / scale)

    def build(self, input_shape):
        if self.scale == 1.0:
            return
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, self.channels, 1),
            initializer=keras.initializers.Constant(
                geometry.anti_alias_kernel(self.scale, self.channels)
            ),
            trainable=False,
        )

    def call(self, images):
        if self.scale == 1.0:
            return images
        before = self.kernel_size // 2
        after = before if self.kernel_size % 2 else before - 1
        padded = tf.pad(images, [[0, 0], [before, after], [before, after], [0, 0]])
        strides = [1, self.stride, self.stride, 1]
        return tf.nn.depthwise_conv2d(padded, self.kernel, strides, "VALID")
