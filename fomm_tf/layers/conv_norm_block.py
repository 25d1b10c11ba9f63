"""Shared base of the conv + batch-norm blocks (official ``modules/util.py``)."""

import keras

from fomm_tf.layers.built_by_call import BuiltByCall
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import batch_norm, conv


class ConvNormBlock(ConfigFromInit, BuiltByCall, keras.layers.Layer):
    """Holds ``conv`` (stride 1, same padding) and ``norm`` (torch-convention BN).

    Subclasses define ``call``; their config is (filters, kernel_size,
    synchronized_bn).
    """

    def __init__(self, filters, kernel_size=3, synchronized_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.conv = conv(filters, kernel_size, name="conv")
        self.norm = batch_norm(synchronized_bn, name="norm")

    def conv_norm_relu(self, x, training=None):
        """relu(BN(conv(x)))."""
        return keras.ops.relu(self.norm(self.conv(x), training=training))
