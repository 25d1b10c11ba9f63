"""Nearest x2 upsampling, conv, batch norm, ReLU (official ``UpBlock2d``)."""

import keras

from fomm_tf.layers.normalization import batch_norm, conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class UpBlock(keras.layers.Layer):
    """Doubles the resolution: nearest upsample -> conv -> BN -> ReLU."""

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.synchronized_bn = synchronized_bn
        self.upsample = keras.layers.UpSampling2D(2, interpolation="nearest")
        self.conv = conv(filters, kernel_size, name="conv")
        self.norm = batch_norm(synchronized_bn, name="norm")

    def call(self, x, training=None):
        out = self.conv(self.upsample(x))
        return keras.ops.relu(self.norm(out, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            synchronized_bn=self.synchronized_bn,
        )
        return config
