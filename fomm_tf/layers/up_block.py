"""Nearest x2 upsampling, conv, batch norm, ReLU (official ``UpBlock2d``)."""

import keras

from fomm_tf.layers.conv_norm_block import ConvNormBlock


@keras.saving.register_keras_serializable(package="fomm_tf")
class UpBlock(ConvNormBlock):
    """Doubles the resolution: nearest upsample -> conv -> BN -> ReLU."""

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(filters, kernel_size, synchronized_bn, **kwargs)
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")

    def call(self, x, training=None):
        return self.conv_norm_relu(self.upsample(x), training=training)
