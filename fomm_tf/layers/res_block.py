"""Pre-activation residual block (official ``ResBlock2d``)."""

import keras

from fomm_tf.layers.conv_norm_block import ConvNormBlock
from fomm_tf.layers.normalization import batch_norm, conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class ResBlock(ConvNormBlock):
    """x + conv2(relu(norm2(conv1(relu(norm1(x)))))), width preserved.

    ``conv``/``norm`` of the base are the first pair (torch ``conv1``/``norm1``).
    """

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(filters, kernel_size, synchronized_bn, **kwargs)
        self.norm2 = batch_norm(synchronized_bn, name="norm2")
        self.conv2 = conv(filters, kernel_size, name="conv2")

    def call(self, x, training=None):
        out = self.conv(keras.ops.relu(self.norm(x, training=training)))
        out = self.conv2(keras.ops.relu(self.norm2(out, training=training)))
        return out + x
