"""Keypoint normalisation: the hull, ``normalize_kp`` and its switches as flags."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.spatial import ConvexHull

from fomm_tf.inference import keypoint_normalization
from fomm_tf.inference.keypoint_normalization import (
    normalize_kp,
    normalize_with_flags,
)
from fomm_tf.inference.normalization_switches import (
    FLAG_NAMES,
    flags_from_keywords,
    keywords_from_flags,
)


def random_kp(rng):
    value = rng.uniform(-0.8, 0.8, (1, 10, 2)).astype(np.float32)
    jacobian = (np.eye(2) + 0.1 * rng.normal(size=(1, 10, 2, 2))).astype(np.float32)
    return {"value": value, "jacobian": jacobian}


def test_convex_hull_area_matches_scipy():
    rng = np.random.default_rng(4)
    points = rng.uniform(-1, 1, (6, 10, 2)).astype(np.float32)
    ours = keypoint_normalization.convex_hull_area(points).numpy()
    expected = [ConvexHull(p.astype(np.float64)).volume for p in points]
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_convex_hull_area_with_collinear_points_on_the_hull():
    square = np.array(
        [[[0, 0], [0.5, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]], np.float32
    )
    assert keypoint_normalization.convex_hull_area(square).numpy()[0] == pytest.approx(
        1.0
    )


def test_normalize_kp_modes():
    rng = np.random.default_rng(5)
    source, driving, initial = random_kp(rng), random_kp(rng), random_kp(rng)
    absolute = keypoint_normalization.normalize_kp(source, driving, initial)
    np.testing.assert_array_equal(absolute["value"], driving["value"])
    relative = keypoint_normalization.normalize_kp(
        source, driving, initial, True, False, False
    )
    expected = source["value"] + driving["value"] - initial["value"]
    np.testing.assert_allclose(relative["value"], expected, atol=1e-6)
    np.testing.assert_array_equal(relative["jacobian"], driving["jacobian"])
    scaled = keypoint_normalization.normalize_kp(
        source, driving, initial, True, True, True
    )
    scale = np.sqrt(
        ConvexHull(source["value"][0]).volume / ConvexHull(initial["value"][0]).volume
    )
    expected = source["value"] + scale * (driving["value"] - initial["value"])
    np.testing.assert_allclose(scaled["value"], expected, atol=1e-5)
    jacobian = (
        driving["jacobian"] @ np.linalg.inv(initial["jacobian"]) @ source["jacobian"]
    )
    np.testing.assert_allclose(scaled["jacobian"], jacobian, atol=1e-5)


@pytest.mark.parametrize(
    "flags", [(1, 1, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (0, 0, 0)]
)
def test_flags_in_a_graph_equal_python_switches(flags):
    rng = np.random.default_rng(6)
    source, driving, initial = random_kp(rng), random_kp(rng), random_kp(rng)
    switches = keywords_from_flags(flags)
    expected = normalize_kp(source, driving, initial, **switches)
    graph = tf.function(normalize_with_flags)
    ours = graph(source, driving, initial, tf.constant(flags, tf.float32))
    for key in ("value", "jacobian"):
        np.testing.assert_allclose(ours[key], expected[key], atol=1e-6)


def test_flags_and_keywords_map_both_ways_in_flag_order():
    keywords = dict(zip(FLAG_NAMES, (True, False, True), strict=True))
    flags = flags_from_keywords(keywords)
    assert flags.dtype == np.float32 and flags.tolist() == [1.0, 0.0, 1.0]
    assert keywords_from_flags(flags) == keywords


def test_a_degenerate_hull_switched_off_in_the_graph_gives_no_nan():
    rng = np.random.default_rng(7)
    source, driving = random_kp(rng), random_kp(rng)
    collapsed = {
        "value": np.zeros_like(source["value"]),
        "jacobian": source["jacobian"],
    }
    out = normalize_with_flags(source, driving, collapsed, tf.constant([1.0, 1.0, 0.0]))
    expected = source["value"] + driving["value"]
    np.testing.assert_allclose(out["value"], expected, atol=1e-6)
