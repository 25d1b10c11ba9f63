"""The official training augmentations (official ``augmentation.py``) in TF ops.

Applied to a (2, H, W, 3) source/driving pair with one set of random parameters
for both frames, in the official order: flip, rotation, resize, crop, colour
jitter. All randomness is stateless, drawn from a per-pair seed, so a seeded
pipeline is reproducible whatever its parallelism.

Differences from the official code, all deliberate:

* colour jitter works in float, without the uint8 round trip of PIL;
* after resize/crop the pair is resized to ``frame_shape`` when its size is
  not already guaranteed to be ``frame_shape`` (the official collate would fail);
* ``nearest`` resize has no anti-aliasing blur (skimage's ``anti_aliasing``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import tensorflow as tf

from fomm_tf.config import AugmentationParams, JitterParams

# torchvision / PIL grey level: L = R * 299/1000 + G * 587/1000 + B * 114/1000.
_GREY_WEIGHTS = (0.299, 0.587, 0.114)
_NUM_SEEDS = 5  # flip, rotation, resize, crop, jitter


class PairAugmentation:
    """``AllAugmentationTransform`` for a frame pair, built from the config.

    Call with ``pair`` (2, H, W, 3) float32 in [0, 1] and ``seed`` (2,) int;
    returns the augmented pair at ``frame_shape``, still in [0, 1].
    """

    def __init__(self, params: AugmentationParams, frame_shape: Sequence[int]):
        self.params = params
        self.frame_size = (int(frame_shape[0]), int(frame_shape[1]))

    def __call__(self, pair: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        p = self.params
        seeds = tf.random.experimental.stateless_split(seed, num=_NUM_SEEDS)
        if p.flip_param is not None:
            pair = random_flip(
                pair, seeds[0], p.flip_param.time_flip, p.flip_param.horizontal_flip
            )
        if p.rotation_param is not None:
            pair = random_rotation(pair, seeds[1], p.rotation_param.degrees)
        if p.resize_param is not None:
            pair = random_resize(
                pair, seeds[2], p.resize_param.ratio, p.resize_param.interpolation
            )
        if p.crop_param is not None:
            pair = random_crop(pair, seeds[3], _pair_size(p.crop_param.size))
        if p.jitter_param is not None:
            pair = color_jitter(pair, seeds[4], p.jitter_param)
        if self._size_may_change():
            pair = tf.image.resize(pair, self.frame_size, antialias=True)
        pair = tf.clip_by_value(pair, 0.0, 1.0)
        return tf.ensure_shape(pair, (2, *self.frame_size, 3))

    def _size_may_change(self) -> bool:
        """Whether resize/crop can leave a size other than ``frame_shape``."""
        p = self.params
        if p.crop_param is not None:
            return _pair_size(p.crop_param.size) != self.frame_size
        return p.resize_param is not None


def random_flip(
    pair: tf.Tensor, seed: tf.Tensor, time_flip: bool, horizontal_flip: bool
) -> tf.Tensor:
    """Official ``RandomFlip``: time flip (p=0.5), else horizontal flip (p=0.5).

    As in the official code the two never combine: a time-flipped pair is
    returned before the horizontal draw, so with both enabled P(hflip) = 0.25.
    """
    draws = tf.random.stateless_uniform([2], seed)
    do_time = tf.logical_and(time_flip, draws[0] < 0.5)
    do_horizontal = tf.logical_and(
        tf.logical_and(horizontal_flip, draws[1] < 0.5), tf.logical_not(do_time)
    )
    pair = tf.cond(do_time, lambda: tf.reverse(pair, [0]), lambda: pair)
    return tf.cond(do_horizontal, lambda: tf.reverse(pair, [2]), lambda: pair)


def random_rotation(
    pair: tf.Tensor, seed: tf.Tensor, degrees: float | Sequence[float]
) -> tf.Tensor:
    """Official ``RandomRotation`` (skimage ``rotate``): counter-clockwise by an
    angle uniform in ``degrees`` (d means (-d, d)) about the image centre,
    bilinear, zeros outside."""
    low, high = (-degrees, degrees) if isinstance(degrees, float | int) else degrees
    angle = tf.random.stateless_uniform([], seed, low, high) * (math.pi / 180.0)
    height = tf.cast(tf.shape(pair)[1], tf.float32)
    width = tf.cast(tf.shape(pair)[2], tf.float32)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel (x, y) samples input R^T (p - c) + c; y points down.
    transform = tf.stack(
        [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy]
        + [0.0, 0.0]
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=pair,
        transforms=tf.tile(transform[None], [2, 1]),
        output_shape=tf.shape(pair)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def random_resize(
    pair: tf.Tensor, seed: tf.Tensor, ratio: Sequence[float], interpolation: str
) -> tf.Tensor:
    """Official ``RandomResize``: both sides times a factor uniform in ``ratio``
    (sizes truncated to int); 'bilinear' or, for any other value, nearest."""
    factor = tf.random.stateless_uniform([], seed, ratio[0], ratio[1])
    size = tf.cast(tf.cast(tf.shape(pair)[1:3], tf.float32) * factor, tf.int32)
    if interpolation == "bilinear":
        return tf.image.resize(pair, size, method="bilinear", antialias=True)
    return tf.image.resize(pair, size, method="nearest")


def random_crop(pair: tf.Tensor, seed: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Official ``RandomCrop``: edge-pad to at least ``size`` (centred), then a
    crop of ``size`` (h, w) at a uniform position."""
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    rows = _crop_indices(tf.shape(pair)[1], size[0], seeds[0])
    cols = _crop_indices(tf.shape(pair)[2], size[1], seeds[1])
    return tf.gather(tf.gather(pair, rows, axis=1), cols, axis=2)


def color_jitter(pair: tf.Tensor, seed: tf.Tensor, params: JitterParams) -> tf.Tensor:
    """Official ``ColorJitter`` (torchvision ``adjust_*`` functions).

    Factors: brightness, contrast, saturation uniform in [max(0, 1 - v), 1 + v],
    hue shift uniform in [-v, v] (fraction of the hue circle); the enabled
    adjustments run in a random order, identical for both frames.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    adjustments = []
    for index, (name, adjust) in enumerate(_JITTER_ADJUSTMENTS):
        amount = getattr(params, name)
        if amount > 0:
            factor = _jitter_factor(name, amount, seeds[index])
            adjustments.append(_bind(adjust, factor))
    if not adjustments:
        return pair
    order = tf.argsort(tf.random.stateless_uniform([len(adjustments)], seeds[4]))
    for step in range(len(adjustments)):
        pair = tf.switch_case(order[step], [_bind(f, pair) for f in adjustments])
    return pair


def _pair_size(size: int | Sequence[int]) -> tuple[int, int]:
    """A crop size as (h, w); an int s is (s, s)."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _crop_indices(length: tf.Tensor, crop: int, seed: tf.Tensor) -> tf.Tensor:
    """Source indices of a crop of ``crop`` along an axis of ``length``.

    The axis is first edge-padded to ``max(length, crop)`` with ``(pad // 2,
    (pad + 1) // 2)`` (official ``pad_clip``); clipping the indices does the pad.
    """
    padded = tf.maximum(length, crop)
    start = tf.random.stateless_uniform(
        [], seed, minval=0, maxval=padded - crop + 1, dtype=tf.int32
    )
    first = start - (padded - length) // 2
    return tf.clip_by_value(first + tf.range(crop), 0, length - 1)


def _jitter_factor(name: str, amount: float, seed: tf.Tensor) -> tf.Tensor:
    """Random factor of one torchvision jitter parameter."""
    if name == "hue":
        return tf.random.stateless_uniform([], seed, -amount, amount)
    return tf.random.stateless_uniform([], seed, max(0.0, 1.0 - amount), 1.0 + amount)


def _bind(function: Callable, value) -> Callable:
    """``function`` with its first argument fixed (a closure, not a late binding)."""
    return lambda *args: function(value, *args)


def _grey(pair: tf.Tensor) -> tf.Tensor:
    """PIL 'L' grey level: (..., H, W, 1)."""
    red, green, blue = (pair[..., c : c + 1] * w for c, w in enumerate(_GREY_WEIGHTS))
    return red + green + blue


def _blend(image: tf.Tensor, other: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """PIL ``Image.blend(other, image, factor)``, clipped to [0, 1]."""
    return tf.clip_by_value(other + factor * (image - other), 0.0, 1.0)


def _adjust_brightness(factor: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
    """torchvision ``adjust_brightness``: blend with black."""
    return _blend(pair, tf.zeros_like(pair), factor)


def _adjust_saturation(factor: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
    """torchvision ``adjust_saturation``: blend with the grey image."""
    return _blend(pair, _grey(pair), factor)


def _adjust_contrast(factor: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
    """torchvision ``adjust_contrast``: blend with each frame's mean grey level."""
    mean = tf.reduce_mean(_grey(pair), axis=(1, 2, 3), keepdims=True)  # (2,1,1,1)
    return _blend(pair, mean, factor)


def _adjust_hue(shift: tf.Tensor, pair: tf.Tensor) -> tf.Tensor:
    """torchvision ``adjust_hue``: rotate the HSV hue by ``shift`` of a turn."""
    return tf.clip_by_value(tf.image.adjust_hue(pair, shift), 0.0, 1.0)


# Seed slot order; the application order is drawn per pair.
_JITTER_ADJUSTMENTS = (
    ("brightness", _adjust_brightness),
    ("contrast", _adjust_contrast),
    ("saturation", _adjust_saturation),
    ("hue", _adjust_hue),
)
