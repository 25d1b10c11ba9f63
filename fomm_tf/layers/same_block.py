"""Conv, batch norm, ReLU (official ``SameBlock2d``)."""

import keras

from fomm_tf.layers.conv_norm_block import ConvNormBlock


@keras.saving.register_keras_serializable(package="fomm_tf")
class SameBlock(ConvNormBlock):
    """Resolution-preserving conv block: conv -> BN -> ReLU."""

    def call(self, x, training=None):
        return self.conv_norm_relu(x, training=training)
