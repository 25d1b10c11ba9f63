"""Conv2D with spectral normalisation (``torch.nn.utils.spectral_norm``)."""

import keras
import tensorflow as tf

from fomm_tf import conventions
from fomm_tf.layers.init_config import ConfigFromInit


def _normalize(vector):
    """x / max(|x|, eps), torch ``F.normalize`` with the spectral-norm eps."""
    norm = tf.maximum(tf.norm(vector), conventions.SPECTRAL_NORM_EPSILON)
    return vector / norm


@keras.saving.register_keras_serializable(package="fomm_tf")
class SpectralNormConv2D(ConfigFromInit, keras.layers.Layer):
    """Valid conv whose kernel is divided by its largest singular value.

    As torch: the kernel is viewed as a (out, in*kh*kw) matrix W in torch's
    (O, I, H, W) order; u (out,) and v (in*kh*kw,) are stored.  Training runs one
    power iteration (v = n(W^T u), u = n(W v)) and updates u, v; evaluation uses
    them as stored.  sigma = u . W v, with no gradient through u and v.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size

    def build(self, input_shape):
        in_channels = input_shape[-1]
        size = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel",
            shape=(size, size, in_channels, self.filters),
            initializer="glorot_uniform",
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.filters,), initializer="zeros"
        )
        normal = keras.initializers.RandomNormal(stddev=1.0)
        self.u = self.add_weight(
            name="u", shape=(self.filters,), initializer=normal, trainable=False
        )
        self.v = self.add_weight(
            name="v",
            shape=(in_channels * size * size,),
            initializer=normal,
            trainable=False,
        )

    def weight_matrix(self):
        """The kernel as torch's (out, in * kh * kw) matrix."""
        return tf.reshape(tf.transpose(self.kernel, (3, 2, 0, 1)), (self.filters, -1))

    def sigma(self, training=False):
        """Spectral norm estimate; one power iteration first when training."""
        matrix = self.weight_matrix()
        u, v = tf.convert_to_tensor(self.u), tf.convert_to_tensor(self.v)
        if training:
            v = _normalize(
                tf.linalg.matvec(tf.stop_gradient(matrix), u, transpose_a=True)
            )
            u = _normalize(tf.linalg.matvec(tf.stop_gradient(matrix), v))
            self.u.assign(u)
            self.v.assign(v)
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        return tf.tensordot(u, tf.linalg.matvec(matrix, v), 1)

    def call(self, x, training=None):
        kernel = self.kernel / self.sigma(bool(training))
        out = tf.nn.conv2d(x, kernel, 1, "VALID")
        return out + self.bias
