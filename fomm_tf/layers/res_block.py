"""Pre-activation residual block (official ``ResBlock2d``)."""

import keras

from fomm_tf.layers.normalization import batch_norm, conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class ResBlock(keras.layers.Layer):
    """x + conv(relu(BN(conv(relu(BN(x)))))), width preserved."""

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.synchronized_bn = synchronized_bn
        self.norm1 = batch_norm(synchronized_bn, name="norm1")
        self.conv1 = conv(filters, kernel_size, name="conv1")
        self.norm2 = batch_norm(synchronized_bn, name="norm2")
        self.conv2 = conv(filters, kernel_size, name="conv2")

    def call(self, x, training=None):
        out = self.conv1(keras.ops.relu(self.norm1(x, training=training)))
        out = self.conv2(keras.ops.relu(self.norm2(out, training=training)))
        return out + x

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            synchronized_bn=self.synchronized_bn,
        )
        return config
