"""Random affine + TPS warp of the equivariance losses (official ``Transform``).

The one place the warps are drawn: :func:`draw_warp_parameters`, from a
stateless seed. Training draws each batch's warp from (seed, global step)
(:func:`with_random_warps`), so a resumed run sees the same warps.
"""

import tensorflow as tf

from fomm_tf import geometry

# Official ``torch.log(distances + 1e-6)`` of the TPS radial basis.
TPS_LOG_EPSILON = 1e-6
# Folds a run's seed into the warps' key space, apart from the data stream's.
WARP_STREAM = 1


def draw_warp_parameters(batch_size, transform_params, seed=None):
    """``(theta, control_params)`` of ``batch_size`` random warps.

    ``theta`` (B, 2, 3) = I + N(0, sigma_affine^2) and ``control_params``
    (B, 1, P^2) = N(0, sigma_tps^2), as the official ``Transform``, drawn from
    the stateless ``seed`` (2,) (a fresh random seed when None).
    """
    if seed is None:
        seed = tf.random.uniform((2,), maxval=tf.int64.max, dtype=tf.int64)
    keys = tf.random.experimental.stateless_split(seed, num=2)
    theta = tf.eye(2, 3, batch_shape=[batch_size]) + tf.random.stateless_normal(
        (batch_size, 2, 3), keys[0], stddev=transform_params.sigma_affine
    )
    points = transform_params.points_tps or 0
    control_params = tf.random.stateless_normal(
        (batch_size, 1, points**2), keys[1], stddev=transform_params.sigma_tps or 0.0
    )
    return theta, control_params


def with_random_warps(dataset, transform_params, batch_size, seed, start_step):
    """Adds ``theta`` and ``control_params`` to every batch of ``dataset``, drawn
    from (``seed``, global step) with the first batch at ``start_step``.

    Rows travel with their samples when a strategy splits the batch, so any
    replica count sees the same warps.
    """
    key = tf.constant([seed, WARP_STREAM], tf.int64)

    def add(step, batch):
        step_key = tf.random.experimental.stateless_fold_in(key, step)
        theta, control_params = draw_warp_parameters(
            batch_size, transform_params, step_key
        )
        return {**batch, "theta": theta, "control_params": control_params}

    return dataset.enumerate(start=start_step).map(add)


class Transform:
    """A random warp per batch element (paper Sec. 3.3, equivariance constraints).

    ``warp(c) = A c + t + sum_k p_k U(|c - c_k|_1)`` with ``theta = [A | t]`` and,
    when ``sigma_tps`` and ``points_tps`` are set, TPS parameters p on a
    ``points_tps``^2 grid of control points c_k (see
    :func:`draw_warp_parameters`).  As the official code: the distance is L1,
    ``U(r) = r^2 log(r + 1e-6)`` and the TPS sum is one scalar added to both x
    and y.

    Args:
      batch_size: B (a Python int or a scalar tensor).
      transform_params: ``fomm_tf.config.TransformParams``.
      theta: optional (B, 2, 3) to inject instead of drawing.
      control_params: optional (B, 1, points_tps^2) to inject instead of drawing.
      seed: optional stateless seed (2,) of the draws (else a random one).
    """

    def __init__(
        self, batch_size, transform_params, theta=None, control_params=None, seed=None
    ):
        self.batch_size = batch_size
        if theta is None or control_params is None:
            drawn = draw_warp_parameters(batch_size, transform_params, seed)
            theta = drawn[0] if theta is None else theta
            control_params = drawn[1] if control_params is None else control_params
        self.theta = tf.convert_to_tensor(theta, tf.float32)  # (B, 2, 3)
        points = transform_params.points_tps
        self.tps = transform_params.sigma_tps is not None and points is not None
        if not self.tps:
            return
        grid = geometry.make_coordinate_grid(points, points)
        self.control_points = tf.reshape(grid, (-1, 2))  # (P^2, 2), k = P * iy + ix
        self.control_params = tf.convert_to_tensor(control_params, tf.float32)

    def _affine(self, coordinates):
        """``A c + t``: (B or 1, N, 2) -> (B, N, 2)."""
        theta = tf.cast(self.theta, coordinates.dtype)
        matrix = theta[:, None, :, :2]  # (B, 1, 2, 2)
        shift = theta[:, None, :, 2]  # (B, 1, 2)
        return (
            matrix[..., 0] * coordinates[..., 0:1]
            + matrix[..., 1] * coordinates[..., 1:2]
            + shift
        )

    def _control_offsets(self, coordinates):
        """``c - c_k``: (B or 1, N, P^2, 2)."""
        control_points = tf.cast(self.control_points, coordinates.dtype)
        return coordinates[:, :, None, :] - control_points[None, None]

    def warp_coordinates(self, coordinates):
        """(B or 1, N, 2) points, (x, y) in [-1, 1] -> warped (B, N, 2)."""
        warped = self._affine(coordinates)
        if not self.tps:
            return warped
        distances = tf.reduce_sum(tf.abs(self._control_offsets(coordinates)), -1)
        basis = distances**2 * tf.math.log(distances + TPS_LOG_EPSILON)
        # (B, N, 1): one scalar, added to both x and y.
        params = tf.cast(self.control_params, coordinates.dtype)
        return warped + tf.reduce_sum(basis * params, -1, keepdims=True)

    def jacobian(self, coordinates):
        """d warp_i / d c_j at (B, N, 2) points: (B, N, 2, 2).

        The official autograd jacobian in closed form: ``A + [[g_x, g_y], [g_x,
        g_y]]`` with ``g_j = sum_k p_k (2 r log(r + 1e-6) + r^2 / (r + 1e-6))
        sign(d_j)``.  It is differentiable w.r.t. the points (second derivatives
        of the warp, ``sign`` having zero derivative as in torch).
        """
        matrix = tf.cast(self.theta, coordinates.dtype)[:, None, :, :2]  # (B,1,2,2)
        if not self.tps:
            return matrix + tf.zeros_like(coordinates)[:, :, None, :]
        offsets = self._control_offsets(coordinates)  # (B, N, P^2, 2)
        distances = tf.reduce_sum(tf.abs(offsets), -1)
        log_term = 2.0 * distances * tf.math.log(distances + TPS_LOG_EPSILON)
        radial = log_term + distances**2 / (distances + TPS_LOG_EPSILON)
        params = tf.cast(self.control_params, coordinates.dtype)
        weights = (radial * params)[..., None]  # (B, N, P^2, 1)
        gradient = tf.reduce_sum(weights * tf.sign(offsets), axis=2)  # (B, N, 2)
        return matrix + gradient[:, :, None, :]

    def transform_frame(self, frames):
        """Warp (B, H, W, C) frames: grid_sample of the warped identity grid.

        As the official: the grid puts -1/+1 on pixel centres but is sampled with
        ``align_corners=False`` and reflection padding (so theta = I is not an
        exact identity).
        """
        height, width = frames.shape[1], frames.shape[2]
        grid = geometry.make_coordinate_grid(height, width, frames.dtype)
        grid = tf.reshape(grid, (1, -1, 2))  # (1, H*W, 2)
        warped = tf.reshape(self.warp_coordinates(grid), (-1, height, width, 2))
        return geometry.grid_sample(
            frames, warped, align_corners=False, padding_mode="reflection"
        )
