"""Keypoint normalisation (official ``normalize_kp``) and its hull, in tensor ops.

Its switches (names, order, flags <-> keywords) live in
``fomm_tf.inference.normalization_switches``, which needs no TensorFlow.
"""

import numpy as np
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.inference.normalization_switches import FLAG_NAMES


def convex_hull_area(points):
    """Area of the convex hull of (B, K, 2) points, as (B,), in tensor ops.

    An ordered pair (i, j) is a counter-clockwise hull edge when every point lies
    strictly left of it or on the segment between them; the shoelace sum over
    those edges is the hull area (scipy ``ConvexHull(...).volume`` in 2-D).
    """
    p_i = points[:, :, None, None, :]  # (B, K, 1, 1, 2)
    p_j = points[:, None, :, None, :]  # (B, 1, K, 1, 2)
    p_k = points[:, None, None, :, :]  # (B, 1, 1, K, 2)
    edge = p_j - p_i
    rel = p_k - p_i
    cross = edge[..., 0] * rel[..., 1] - edge[..., 1] * rel[..., 0]  # (B, K, K, K)
    along = tf.reduce_sum(edge * rel, axis=-1)
    length2 = tf.reduce_sum(edge * edge, axis=-1)
    on_segment = (tf.equal(cross, 0.0)) & (along >= 0.0) & (along <= length2)
    left_or_on = (cross > 0.0) | on_segment
    is_edge = tf.reduce_all(left_or_on, axis=-1) & (length2[..., 0] > 0.0)
    pi, pj = points[:, :, None, :], points[:, None, :, :]
    shoelace = pi[..., 0] * pj[..., 1] - pj[..., 0] * pi[..., 1]  # (B, K, K)
    doubled = tf.reduce_sum(tf.where(is_edge, shoelace, 0.0), axis=[1, 2])
    return 0.5 * doubled


def _switch(flag, on, off):
    """``on()`` where ``flag`` holds, else ``off``. A Python bool picks in Python
    (only the chosen branch runs); a boolean tensor picks with ``tf.where``, so a
    NaN of the branch it turns off (a degenerate hull) never passes."""
    if not tf.is_tensor(flag):
        return on() if flag else off
    return tf.where(flag, on(), off)


def _both(first, second):
    if tf.is_tensor(first) or tf.is_tensor(second):
        return tf.logical_and(first, second)
    return bool(first and second)


def normalize_kp(
    kp_source,
    kp_driving,
    kp_driving_initial,
    use_relative_movement=False,
    use_relative_jacobian=False,
    adapt_movement_scale=False,
):
    """Official ``normalize_kp`` (demo.py / animate.py) as a tensor function.

    Relative movement: kp_s + scale * (kp_d - kp_d0); relative jacobian:
    J_d @ inv(J_d0) @ J_s; scale = sqrt(hull area(kp_s) / hull area(kp_d0)).
    The official code takes the scale from batch element 0; here each batch
    element uses its own hull (identical for the batch-1 source of animation).
    Each switch is a Python bool or a boolean scalar tensor (a graph input).
    """
    kp_new = dict(kp_driving)
    if not tf.is_tensor(use_relative_movement) and not use_relative_movement:
        return kp_new
    scale = _switch(
        adapt_movement_scale, lambda: _hull_scale(kp_source, kp_driving_initial), 1.0
    )
    kp_new["value"] = _switch(
        use_relative_movement,
        lambda: (
            (kp_driving["value"] - kp_driving_initial["value"]) * scale
            + kp_source["value"]
        ),
        kp_driving["value"],
    )
    if "jacobian" in kp_driving:
        kp_new["jacobian"] = _switch(
            _both(use_relative_movement, use_relative_jacobian),
            lambda: _relative_jacobian(kp_source, kp_driving, kp_driving_initial),
            kp_driving["jacobian"],
        )
    return kp_new


def _hull_scale(kp_source, kp_driving_initial):
    """sqrt(source hull area / initial driving hull area), (B, 1, 1)."""
    source_area = convex_hull_area(kp_source["value"])
    driving_area = convex_hull_area(kp_driving_initial["value"])
    return (tf.sqrt(source_area) / tf.sqrt(driving_area))[:, None, None]


def _relative_jacobian(kp_source, kp_driving, kp_driving_initial):
    """J_d @ inv(J_d0) @ J_s."""
    relative = geometry.matmul_2x2(
        kp_driving["jacobian"], geometry.inverse_2x2(kp_driving_initial["jacobian"])
    )
    return geometry.matmul_2x2(relative, kp_source["jacobian"])


def normalize_with_flags(kp_source, kp_driving, kp_driving_initial, flags):
    """:func:`normalize_kp` with its switches taken from ``flags`` (3,) of 0/1."""
    switches = tf.unstack(tf.convert_to_tensor(flags, tf.float32) > 0.5)
    return normalize_kp(
        kp_source,
        kp_driving,
        kp_driving_initial,
        **dict(zip(FLAG_NAMES, switches, strict=True)),
    )


def normalized_pose(kp_values):
    """(B, K, 2) keypoints centred and divided by sqrt(convex hull area), as the
    official ``find_best_frame`` normalises face landmarks (numpy in and out)."""
    centred = kp_values - kp_values.mean(axis=1, keepdims=True)
    area = convex_hull_area(tf.constant(kp_values, tf.float32)).numpy()
    return centred / np.sqrt(np.maximum(area, 1e-12))[:, None, None]
