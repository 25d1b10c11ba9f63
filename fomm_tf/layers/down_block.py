"""Conv, batch norm, ReLU, 2x2 average pool (official ``DownBlock2d``)."""

import keras

from fomm_tf.layers.normalization import batch_norm, conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class DownBlock(keras.layers.Layer):
    """Halves the resolution: conv -> BN -> ReLU -> avg-pool 2x2."""

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.synchronized_bn = synchronized_bn
        self.conv = conv(filters, kernel_size, name="conv")
        self.norm = batch_norm(synchronized_bn, name="norm")
        self.pool = keras.layers.AveragePooling2D(2)

    def call(self, x, training=None):
        return self.pool(keras.ops.relu(self.norm(self.conv(x), training=training)))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            synchronized_bn=self.synchronized_bn,
        )
        return config
