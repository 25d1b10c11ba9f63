"""Conv, batch norm, ReLU, 2x2 average pool (official ``DownBlock2d``)."""

import keras

from fomm_tf.layers.conv_norm_block import ConvNormBlock


@keras.saving.register_keras_serializable(package="fomm_tf")
class DownBlock(ConvNormBlock):
    """Halves the resolution: conv -> BN -> ReLU -> avg-pool 2x2 (floor, as torch)."""

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(filters, kernel_size, synchronized_bn, **kwargs)
        self.pool = keras.layers.AveragePooling2D(2)

    def call(self, x, training=None):
        return self.pool(self.conv_norm_relu(x, training=training))
