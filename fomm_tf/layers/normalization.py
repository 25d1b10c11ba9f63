"""Normalisation layers configured with the official PyTorch conventions."""

import keras

from fomm_tf import conventions


def batch_norm(synchronized=False, name=None):
    """``nn.BatchNorm2d(affine=True)``: eps 1e-5, torch momentum 0.1."""
    return keras.layers.BatchNormalization(
        epsilon=conventions.BATCH_NORM_EPSILON,
        momentum=conventions.BATCH_NORM_MOMENTUM,
        synchronized=synchronized,
        name=name,
    )


def instance_norm(name=None):
    """``nn.InstanceNorm2d(affine=True)``: per-image statistics, eps 1e-5."""
    return keras.layers.GroupNormalization(
        groups=-1, epsilon=conventions.INSTANCE_NORM_EPSILON, name=name
    )


def conv(filters, kernel_size, padding="same", name=None):
    """Stride-1 conv; ``same`` equals torch's symmetric padding k // 2."""
    return keras.layers.Conv2D(filters, kernel_size, padding=padding, name=name)
