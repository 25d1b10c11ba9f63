"""Discriminator down block (official ``discriminator.DownBlock2d``)."""

import keras

from fomm_tf import conventions
from fomm_tf.layers.built_by_call import BuiltByCall
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import conv, instance_norm
from fomm_tf.layers.spectral_norm_conv import SpectralNormConv2D


@keras.saving.register_keras_serializable(package="fomm_tf")
class DiscriminatorBlock(ConfigFromInit, BuiltByCall, keras.layers.Layer):
    """Valid 4x4 conv (optionally spectral-normalised), instance norm,
    LeakyReLU 0.2, optional 2x2 average pool."""

    def __init__(
        self, filters, kernel_size=4, norm=False, pool=False, sn=False, **kwargs
    ):
        super().__init__(**kwargs)
        self.use_norm = norm
        self.use_pool = pool
        self.sn = sn
        if sn:
            self.conv = SpectralNormConv2D(filters, kernel_size, name="conv")
        else:
            self.conv = conv(filters, kernel_size, padding="valid", name="conv")
        self.norm = instance_norm(name="norm") if norm else None
        self.pool = keras.layers.AveragePooling2D(2) if pool else None

    def call(self, x, training=None):
        out = self.conv(x, training=training) if self.sn else self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = keras.ops.leaky_relu(out, conventions.LEAKY_RELU_SLOPE)
        if self.pool is not None:
            out = self.pool(out)
        return out
