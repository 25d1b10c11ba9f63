"""Inference-only transforms of built models: same frames, less work.

``optimize_for_inference(models)`` changes the generator's encoder and decoder
in place (train or save the models no more afterwards). The warping path (the
keypoint detector, the dense motion network) keeps its float numerics bit for
bit, so no sampling position moves; it is under a tenth of a frame's FLOPs.

- Batch norm folded into the convolution before it. In eval mode
  ``BN(conv(x)) = conv'(x)`` with the kernel scaled per output channel by
  ``gamma / sqrt(var + eps)`` and the bias moved accordingly, so a folded block
  runs one op where it ran a convolution and a normalisation pass. Folds every
  ``conv -> norm`` pair of the conv-norm blocks (``SameBlock``, ``DownBlock``,
  ``UpBlock``) and a ``ResBlock``'s ``norm2`` into its first ``conv``
  (pre-activation: norm, relu, conv, norm2, relu, conv2); its first norm
  normalises the block input, which the residual also uses, and stays.
- The decoder's up blocks as sub-pixel convolutions: a 3x3 conv of a nearest x2
  upsampled map equals, for each of the four output phases, a 2x2 conv of the
  map itself (taps that land on the same source pixel summed), the phases
  interleaved by ``depth_to_space``: 16 taps per source pixel instead of 36, and
  no upsampled copy (in TFLite, tile ops outside XNNPACK).
- Opt-in, ``precision="bfloat16"``: the decoder (bottleneck residual blocks, up
  blocks, final convolution: ~90% of a frame's FLOPs on vox-256) computes in
  bfloat16 from its float32 weights (Keras' ``mixed_bfloat16`` policy); the
  keypoint detector, the dense motion network and the warps stay float32, so
  no sampling position moves. About twice as fast on CPUs with bfloat16
  instructions (``avx512_bf16``, ``amx_bf16``); PSNR against float32 is in
  the README's speed table.
"""

import keras
import numpy as np
import tensorflow as tf

from fomm_tf.inference.precision import check_precision
from fomm_tf.layers.conv_norm_block import ConvNormBlock
from fomm_tf.layers.res_block import ResBlock

# Row (column) taps of output phase a: (source offset -1 or 0, 0 or +1) <- the
# 3x3 kernel rows whose upsampled row falls on that source row.
PHASE_TAPS = {0: ((0,), (1, 2)), 1: ((0, 1), (2,))}


def optimize_for_inference(models, precision="float32"):
    """The transforms on the generator's encoder and decoder blocks."""
    check_precision(precision)  # before anything is changed in place
    generator = models.generator
    blocks = [generator.first, *generator.down_blocks, *generator.bottleneck]
    for block in [*blocks, *generator.up_blocks]:
        fold_batch_norm(block)
    for block in generator.up_blocks:
        subpixel_up_block(block)
    if precision == "bfloat16":
        decode_in_bfloat16(generator)


def decode_in_bfloat16(generator):
    """The decoder's layers compute in bfloat16 (their inputs and weights cast
    on the fly; the weights stay float32)."""
    for block in [*generator.bottleneck, *generator.up_blocks, generator.final]:
        for layer in block._flatten_layers(include_self=True, recursive=True):
            layer.dtype_policy = "mixed_bfloat16"


def fold_batch_norm(model):
    """Fold every foldable batch norm of ``model`` (a model or layer, searched
    recursively); returns how many."""
    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, ResBlock):
            count += _fold(layer, "conv", "norm2")
        elif isinstance(layer, ConvNormBlock):
            count += _fold(layer, "conv", "norm")
    return count


def _fold(block, conv_name, norm_name):
    """Scale ``conv`` by ``norm``'s statistics; ``norm`` becomes the identity."""
    conv, norm = getattr(block, conv_name), getattr(block, norm_name)
    if not isinstance(norm, keras.layers.BatchNormalization):
        return 0
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in norm.get_weights())
    scale = gamma / np.sqrt(var + norm.epsilon)
    conv.set_weights(
        [
            (kernel * scale).astype(np.float32),
            ((bias - mean) * scale + beta).astype(np.float32),
        ]
    )
    # Past Keras's state tracking (locked once built): the norm is skipped.
    object.__setattr__(block, norm_name, _identity)
    return 1


def _identity(x, training=None):
    del training
    return x


def subpixel_up_block(block):
    """``block`` (an ``UpBlock``: nearest x2, 3x3 conv, norm, ReLU) computed as
    four 2x2 phase convolutions of its input."""
    kernel, bias = (np.asarray(w, np.float64) for w in block.conv.get_weights())
    phases = [
        tf.constant(_phase_kernel(kernel, row, column), tf.float32)
        for row in (0, 1)
        for column in (0, 1)
    ]
    bias = tf.constant(bias, tf.float32)

    def call(x, training=None):
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        height, width = x.shape[1], x.shape[2]
        outputs = []
        for index, phase in enumerate(phases):
            row, column = divmod(index, 2)
            window = padded[:, row : row + height + 1, column : column + width + 1]
            phase = tf.cast(phase, x.dtype)
            outputs.append(tf.nn.conv2d(window, phase, 1, "VALID"))
        out = tf.nn.depth_to_space(tf.concat(outputs, axis=-1), 2)
        out = out + tf.cast(bias, x.dtype)
        return keras.ops.relu(block.norm(out, training=training))

    object.__setattr__(block, "call", call)


def _phase_kernel(kernel, row, column):
    """2x2 kernel of output phase (row, column) from a 3x3 kernel."""
    rows, columns = PHASE_TAPS[row], PHASE_TAPS[column]
    return np.stack(
        [
            np.stack([kernel[list(r)][:, list(c)].sum(axis=(0, 1)) for c in columns])
            for r in rows
        ]
    )
