"""Geometry of the First Order Motion Model in plain TF ops.

Everything here converts to TFLite builtin ops (no Flex): bilinear sampling is
written with ``tf.gather`` on a flattened image instead of a custom kernel.
Images are NHWC; grids and keypoints are (x, y) in [-1, 1].
"""

import numpy as np
import tensorflow as tf

from fomm_tf import conventions


def make_coordinate_grid(height, width, dtype=tf.float32):
    """Grid (H, W, 2) of (x, y) with -1 and +1 on the outer pixel centres.

    Official ``make_coordinate_grid``: ``2 * (arange(n) / (n - 1)) - 1``.
    """
    xs = 2.0 * (tf.range(width, dtype=dtype) / (width - 1)) - 1.0
    ys = 2.0 * (tf.range(height, dtype=dtype) / (height - 1)) - 1.0
    xx = tf.broadcast_to(xs[None, :], (height, width))
    yy = tf.broadcast_to(ys[:, None], (height, width))
    return tf.stack([xx, yy], axis=-1)


def unnormalize_coordinates(coords, size, align_corners):
    """Map [-1, 1] to pixel index space as torch ``grid_sample`` does."""
    if align_corners:
        return (coords + 1.0) * 0.5 * (size - 1)
    return ((coords + 1.0) * size - 1.0) * 0.5


def reflect_coordinates(coords, size, align_corners):
    """torch's reflection padding: reflect about the borders, then clip.

    align_corners=False reflects about -0.5 and size - 0.5; True about 0 and
    size - 1.  The result is clipped to [0, size - 1].
    """
    low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
    span = tf.maximum(high - low, 1e-12)  # a 1-pixel axis reflects onto pixel 0
    distance = tf.abs(coords - low)
    extra = tf.math.floormod(distance, span)
    flips = tf.floor(distance / span)
    even = tf.equal(tf.math.floormod(flips, 2.0), 0.0)
    reflected = tf.where(even, extra + low, span - extra + low)
    return tf.clip_by_value(reflected, 0.0, size - 1.0)


def _gather_corner(flat_image, batch_offset, xi, yi, height, width):
    """Values at integer corners (zero outside the image) and their validity."""
    valid = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
    xc = tf.clip_by_value(xi, 0, width - 1)
    yc = tf.clip_by_value(yi, 0, height - 1)
    index = batch_offset + yc * width + xc
    values = tf.gather(flat_image, index)
    return values * tf.cast(valid, flat_image.dtype)[..., None]


def grid_sample(image, grid, align_corners, padding_mode="zeros"):
    """Bilinear sampling as torch ``F.grid_sample``.

    Args:
      image: (B, H, W, C).
      grid: (B, h, w, 2), (x, y) in [-1, 1].
      align_corners: the torch flag (see ``conventions.DEFAULT_ALIGN_CORNERS``).
      padding_mode: ``"zeros"`` or ``"reflection"``.

    Returns:
      (B, h, w, C).
    """
    if padding_mode not in ("zeros", "reflection"):
        raise ValueError(f"unsupported padding_mode {padding_mode!r}")
    shape = tf.shape(image)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = image.shape[-1]
    height_f = tf.cast(height, image.dtype)
    width_f = tf.cast(width, image.dtype)
    x = unnormalize_coordinates(grid[..., 0], width_f, align_corners)
    y = unnormalize_coordinates(grid[..., 1], height_f, align_corners)
    if padding_mode == "reflection":
        x = reflect_coordinates(x, width_f, align_corners)
        y = reflect_coordinates(y, height_f, align_corners)
    x0f, y0f = tf.floor(x), tf.floor(y)
    wx1, wy1 = x - x0f, y - y0f
    wx0, wy0 = 1.0 - wx1, 1.0 - wy1
    x0, y0 = tf.cast(x0f, tf.int32), tf.cast(y0f, tf.int32)
    x1, y1 = x0 + 1, y0 + 1
    flat_image = tf.reshape(image, (-1, channels))  # (B*H*W, C)
    batch_offset = tf.reshape(tf.range(batch) * height * width, (-1, 1, 1))
    corners = (
        (x0, y0, wx0 * wy0),
        (x1, y0, wx1 * wy0),
        (x0, y1, wx0 * wy1),
        (x1, y1, wx1 * wy1),
    )
    out = 0.0
    for xi, yi, weight in corners:
        values = _gather_corner(flat_image, batch_offset, xi, yi, height, width)
        out = out + values * weight[..., None]
    return out


def inverse_2x2(matrix):
    """Closed-form inverse of (..., 2, 2) matrices: adj(M) / det(M)."""
    a, b = matrix[..., 0, 0], matrix[..., 0, 1]
    c, d = matrix[..., 1, 0], matrix[..., 1, 1]
    det = a * d - b * c
    rows = [tf.stack([d, -b], axis=-1), tf.stack([-c, a], axis=-1)]
    return tf.stack(rows, axis=-2) / det[..., None, None]


def matmul_2x2(left, right):
    """Product of (..., 2, 2) matrices, elementwise (TFLite friendly)."""
    rows = []
    for i in range(2):
        row = [
            left[..., i, 0] * right[..., 0, j] + left[..., i, 1] * right[..., 1, j]
            for j in range(2)
        ]
        rows.append(tf.stack(row, axis=-1))
    return tf.stack(rows, axis=-2)


def kp2gaussian(kp_value, spatial_size, kp_variance=conventions.KP_VARIANCE):
    """Gaussian heatmaps exp(-0.5 |z - kp|^2 / var): (B, K, 2) -> (B, H, W, K)."""
    height, width = spatial_size
    grid = make_coordinate_grid(height, width, kp_value.dtype)  # (H, W, 2)
    diff = grid[None, :, :, None, :] - kp_value[:, None, None, :, :]
    return tf.exp(-0.5 * tf.reduce_sum(diff * diff, axis=-1) / kp_variance)


def anti_alias_kernel(scale, channels):
    """Depthwise gaussian kernel (k, k, C, 1) of ``AntiAliasInterpolation2d``."""
    sigma = conventions.anti_alias_sigma(scale)
    size = conventions.anti_alias_kernel_size(scale)
    axis = np.arange(size, dtype=np.float32)
    mean = (size - 1) / 2
    profile = np.exp(-((axis - mean) ** 2) / (2 * sigma**2))
    kernel = profile[:, None] * profile[None, :]
    kernel = kernel / kernel.sum()
    return np.tile(kernel[:, :, None, None], (1, 1, channels, 1)).astype(np.float32)
