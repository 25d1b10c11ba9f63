"""Inference-only transforms of built models: same frames, less work.

``optimize_for_inference(models)`` changes the generator's encoder and decoder
in place (train or save the models no more afterwards). The warping path (the
keypoint detector, the dense motion network) keeps its float numerics bit for
bit, so no sampling position moves; it is under a tenth of a frame's FLOPs.
(Folding batch norm and sub-pixel up blocks in its hourglasses too was tried:
no speed-up above this VM's noise, frames moved by 1.6e-4 on the fixture, the
TFLite files grew by 40% and the command's peak memory by 450 MB, the sub-pixel
kernels holding 16 taps where the 3x3 kernel holds 9.)

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
  no upsampled copy (in TFLite, tile ops outside XNNPACK). The four phase
  kernels run as one convolution.
- The final 7x7 conv (64 -> 3 channels at full resolution) on the 2x2
  space-to-depth of its input: CPU kernels compute output channels in blocks
  of 8-16, so 3 outputs waste most of the work; 12 outputs on a map of a
  quarter the size waste less (1.6x faster in TensorFlow at batch 4).
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
    space_to_depth_conv(generator.final)
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
    one convolution of its input with the four 2x2 phase kernels side by side:
    phase (row, column) is that output offset by (row, column)."""
    kernel, bias = (np.asarray(w, np.float64) for w in block.conv.get_weights())
    phases = [(row, column) for row in (0, 1) for column in (0, 1)]
    kernels = [_phase_kernel(kernel, row, column) for row, column in phases]
    kernels = tf.constant(np.concatenate(kernels, axis=-1), tf.float32)
    bias = tf.constant(bias, tf.float32)
    width_out = kernel.shape[-1]

    def call(x, training=None):
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        out = tf.nn.conv2d(padded, tf.cast(kernels, x.dtype), 1, "VALID")
        height, width = x.shape[1], x.shape[2]
        out = tf.concat(
            [
                out[:, row : row + height, column : column + width,
                    index * width_out : (index + 1) * width_out]
                for index, (row, column) in enumerate(phases)
            ],
            axis=-1,
        )  # fmt: skip
        out = tf.nn.depth_to_space(out, 2) + tf.cast(bias, x.dtype)
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


def space_to_depth_conv(conv):
    """``conv`` (stride 1, ``same``, odd square kernel k) computed on the 2x2
    space-to-depth of its input: a kernel of ``2 * ceil(k // 2 / 2) + 1`` taps
    (5 for k = 7) over a map of half the size with 4x the input and output
    channels, the output phases interleaved by ``depth_to_space``. Twice the
    FLOPs for k = 7, but a convolution with few output channels wastes most of
    a CPU kernel's output block; with 4x the outputs it wastes less. Inputs of
    odd height or width keep the plain convolution."""
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    folded, reach = _space_to_depth_kernel(kernel)
    folded = tf.constant(folded, tf.float32)
    bias = tf.constant(np.tile(bias, 4), tf.float32)
    original = conv.call

    def call(x):
        if x.shape[1] % 2 or x.shape[2] % 2:
            return original(x)
        x = tf.pad(tf.nn.space_to_depth(x, 2), [[0, 0], reach, reach, [0, 0]])
        out = tf.nn.conv2d(x, tf.cast(folded, x.dtype), 1, "VALID")
        return tf.nn.depth_to_space(out + tf.cast(bias, x.dtype), 2)

    object.__setattr__(conv, "call", call)


def _space_to_depth_kernel(kernel):
    """(folded kernel, (pad before, pad after)) of a k x k kernel (k odd) for
    input and output phases (p, a) in {0, 1}^2: output pixel 2i + a reads input
    2i + a + u - k // 2 = 2(i + m) + p, so tap u of phase pair (p, a) lands at
    folded offset m = (a + u - k // 2 - p) / 2."""
    size, _, channels_in, channels_out = kernel.shape
    half = size // 2
    low, high = -((half + 1) // 2), (half + 1) // 2
    taps = high - low + 1
    folded = np.zeros((taps, taps, 2, 2, channels_in, 2, 2, channels_out))
    for m_row in range(low, high + 1):
        for m_col in range(low, high + 1):
            for p_row, p_col, a_row, a_col in np.ndindex(2, 2, 2, 2):
                u_row = 2 * m_row + p_row - a_row + half
                u_col = 2 * m_col + p_col - a_col + half
                if 0 <= u_row < size and 0 <= u_col < size:
                    folded[m_row - low, m_col - low, p_row, p_col, :, a_row, a_col] = (
                        kernel[u_row, u_col]
                    )
    shape = (taps, taps, 4 * channels_in, 4 * channels_out)
    return folded.reshape(shape), (-low, high)
