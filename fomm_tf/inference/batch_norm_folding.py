"""Inference-only transform: batch norm folded into the convolution before it.

In eval mode ``BN(conv(x)) = conv'(x)`` with the kernel scaled per output
channel by ``gamma / sqrt(var + eps)`` and the bias moved accordingly, so a
folded block runs one op where it ran a convolution and a normalisation pass
over its output. Folds every ``conv -> norm`` pair of the conv-norm blocks
(``SameBlock``, ``DownBlock``, ``UpBlock``) and a ``ResBlock``'s ``norm2``
into its first ``conv`` (pre-activation: norm, relu, conv, norm2, relu, conv2);
its first norm normalises the block input, which the residual also uses, and
stays.

Folding changes the models in place: train or save them no more afterwards.
"""

import keras
import numpy as np

from fomm_tf.layers.conv_norm_block import ConvNormBlock
from fomm_tf.layers.res_block import ResBlock


def fold_batch_norm(model):
    """Fold every foldable batch norm of ``model`` (a Keras model or layer);
    returns how many were folded."""
    count = 0
    for layer in _layers(model):
        if isinstance(layer, ResBlock):
            count += _fold(layer, "conv", "norm2")
        elif isinstance(layer, ConvNormBlock):
            count += _fold(layer, "conv", "norm")
    return count


def _layers(model):
    return [model, *model._flatten_layers(include_self=False, recursive=True)]


def _fold(block, conv_name, norm_name):
    """Scale ``conv`` by ``norm``'s statistics; ``norm`` becomes the identity."""
    conv, norm = getattr(block, conv_name), getattr(block, norm_name)
    if not isinstance(norm, keras.layers.BatchNormalization):
        return 0
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    gamma, beta, mean, variance = (np.asarray(w, np.float64) for w in norm.get_weights())
    scale = gamma / np.sqrt(variance + norm.epsilon)
    conv.set_weights([(kernel * scale).astype(np.float32),
                      ((bias - mean) * scale + beta).astype(np.float32)])  # fmt: skip
    # Past Keras's state tracking (locked once built): the norm is skipped.
    object.__setattr__(block, norm_name, _identity)
    return 1


def _identity(x, training=None):
    del training
    return x
