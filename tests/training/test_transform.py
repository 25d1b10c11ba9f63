"""The equivariance warp (official ``Transform``) against the training fixture."""

import numpy as np
import pytest
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.config import TransformParams
from fomm_tf.training import Transform
from tests.harness import nhwc

KP_ATOL = 1e-5  # TRAIN_README: kp, warp and jacobian
FRAME_ATOL = 2e-5  # TRAIN_README: transformed_frame


@pytest.fixture(scope="module")
def fixture_transform(train_io):
    return Transform(
        2,
        TransformParams(sigma_affine=0.05, sigma_tps=0.005, points_tps=5),
        theta=train_io["train/transform/theta"],
        control_params=train_io["train/transform/control_params"],
    )


def autodiff_jacobian(transform, points):
    """d warp_i / d c_j by autodiff, as the official ``Transform.jacobian``."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(points)
        warped = transform.warp_coordinates(points)
        sums = [tf.reduce_sum(warped[..., i]) for i in range(2)]
    return tf.stack([tape.gradient(s, points) for s in sums], axis=-2)


def test_control_points_match_official_order(fixture_transform, train_io):
    expected = train_io["train/transform/control_points"].reshape(-1, 2)
    np.testing.assert_array_equal(fixture_transform.control_points.numpy(), expected)


def test_warped_grid_and_frame_match_fixture(fixture_transform, train_io):
    grid = tf.reshape(geometry.make_coordinate_grid(256, 256), (1, -1, 2))
    warped = fixture_transform.warp_coordinates(grid).numpy().reshape(2, 256, 256, 2)
    np.testing.assert_allclose(
        warped, train_io["train/transform/frame_grid"], rtol=0, atol=FRAME_ATOL
    )
    frame = fixture_transform.transform_frame(
        tf.constant(nhwc(train_io["train/driving"]))
    )
    np.testing.assert_allclose(
        frame, nhwc(train_io["train/transformed_frame"]), rtol=0, atol=FRAME_ATOL
    )


def test_warp_and_jacobian_at_keypoints_match_fixture(fixture_transform, train_io):
    points = tf.constant(train_io["train/transformed_kp/value"])
    np.testing.assert_allclose(
        fixture_transform.warp_coordinates(points),
        train_io["train/transform/warp_of_transformed_kp"],
        rtol=0,
        atol=KP_ATOL,
    )
    np.testing.assert_allclose(
        fixture_transform.jacobian(points),
        train_io["train/transform/jacobian_at_transformed_kp"],
        rtol=0,
        atol=KP_ATOL,
    )


def test_analytic_jacobian_equals_autodiff_and_its_gradient(fixture_transform):
    points = tf.random.stateless_uniform((2, 30, 2), (3, 4), -1.2, 1.2)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(points)
        analytic = fixture_transform.jacobian(points)
        reference = autodiff_jacobian(fixture_transform, points)
        weights = tf.random.stateless_normal(analytic.shape, (5, 6))
        analytic_loss = tf.reduce_sum(weights * analytic)
        reference_loss = tf.reduce_sum(weights * reference)
    np.testing.assert_allclose(analytic, reference, rtol=0, atol=1e-6)
    analytic_grad = tape.gradient(analytic_loss, points)
    np.testing.assert_allclose(
        analytic_grad, tape.gradient(reference_loss, points), rtol=1e-4, atol=1e-6
    )
    assert float(tf.reduce_max(tf.abs(analytic_grad))) > 1e-3  # second derivatives


def test_tps_uses_l1_distance_and_one_scalar_for_x_and_y():
    params = TransformParams(sigma_affine=0.0, sigma_tps=0.0, points_tps=2)
    control = np.array([[[0.3, 0.0, 0.0, 0.0]]], np.float32)  # control point (-1, -1)
    theta = np.array([[[1, 0, 0], [0, 1, 0]]], np.float32)
    transform = Transform(1, params, theta=theta, control_params=control)
    point = np.array([[[0.5, -0.25]]], np.float32)
    r = 1.5 + 0.75  # |dx| + |dy|, not the euclidean distance
    shift = 0.3 * r**2 * np.log(r + 1e-6)
    np.testing.assert_allclose(
        transform.warp_coordinates(point), point + shift, rtol=1e-6
    )


def test_affine_only_when_tps_keys_are_null():
    params = TransformParams(sigma_affine=0.05, sigma_tps=None, points_tps=None)
    theta = np.array([[[1.1, 0.2, 0.05], [-0.1, 0.9, -0.3]]], np.float32)
    transform = Transform(1, params, theta=theta)
    assert not transform.tps
    points = np.array([[[0.5, -0.5], [1.0, 0.25]]], np.float32)
    expected = points @ theta[0, :, :2].T + theta[0, :, 2]
    np.testing.assert_allclose(transform.warp_coordinates(points), expected, rtol=1e-6)
    jacobian = transform.jacobian(tf.constant(points)).numpy()
    np.testing.assert_allclose(jacobian, np.broadcast_to(theta[0, :, :2], (1, 2, 2, 2)))


def test_random_draws_follow_transform_params():
    params = TransformParams(sigma_affine=0.05, sigma_tps=0.005, points_tps=5)
    transform = Transform(4000, params, seed=(1, 0))
    noise = transform.theta.numpy() - np.eye(2, 3)
    assert transform.control_params.shape == (4000, 1, 25)
    np.testing.assert_allclose(noise.std(), 0.05, rtol=0.02)
    np.testing.assert_allclose(transform.control_params.numpy().std(), 0.005, rtol=0.02)
    assert abs(noise.mean()) < 1e-3
