"""Geometry ops against independent NumPy references of the torch behaviour."""

import numpy as np
import pytest
import tensorflow as tf

from fomm_tf import geometry


def reference_grid_sample(image, grid, align_corners, padding_mode):
    """Pixel-by-pixel port of torch's bilinear ``grid_sample`` (one image)."""
    height, width, _ = image.shape

    def unnormalize(coord, size):
        if align_corners:
            return (coord + 1) / 2 * (size - 1)
        return ((coord + 1) * size - 1) / 2

    def reflect(coord, size):
        low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
        span = high - low
        coord = abs(coord - low)
        flips, extra = divmod(coord, span)
        coord = extra + low if flips % 2 == 0 else span - extra + low
        return min(max(coord, 0.0), size - 1.0)

    def pixel(y, x):
        if 0 <= x < width and 0 <= y < height:
            return image[y, x]
        return np.zeros(image.shape[-1])

    out = np.zeros(grid.shape[:2] + image.shape[-1:])
    for i, j in np.ndindex(*grid.shape[:2]):
        x = unnormalize(grid[i, j, 0], width)
        y = unnormalize(grid[i, j, 1], height)
        if padding_mode == "reflection":
            x, y = reflect(x, width), reflect(y, height)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        dx, dy = x - x0, y - y0
        out[i, j] = (
            pixel(y0, x0) * (1 - dx) * (1 - dy)
            + pixel(y0, x0 + 1) * dx * (1 - dy)
            + pixel(y0 + 1, x0) * (1 - dx) * dy
            + pixel(y0 + 1, x0 + 1) * dx * dy
        )
    return out


def test_coordinate_grid_puts_minus_one_and_one_on_outer_pixel_centres():
    grid = geometry.make_coordinate_grid(3, 5).numpy()
    assert grid.shape == (3, 5, 2)
    np.testing.assert_allclose(grid[0, 0], [-1, -1])
    np.testing.assert_allclose(grid[-1, -1], [1, 1])
    np.testing.assert_allclose(grid[0, :, 0], [-1, -0.5, 0, 0.5, 1])  # x varies
    np.testing.assert_allclose(grid[:, 0, 1], [-1, 0, 1])  # along columns


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", ["zeros", "reflection"])
def test_grid_sample_matches_torch_semantics(align_corners, padding_mode):
    rng = np.random.default_rng(0)
    image = rng.random((2, 5, 7, 3)).astype(np.float32)
    grid = rng.uniform(-1.6, 1.6, (2, 4, 6, 2)).astype(np.float32)
    ours = geometry.grid_sample(image, grid, align_corners, padding_mode).numpy()
    for b in range(2):
        expected = reference_grid_sample(image[b], grid[b], align_corners, padding_mode)
        np.testing.assert_allclose(ours[b], expected, atol=1e-5)


def test_identity_grid_is_identity_only_with_align_corners():
    image = np.random.default_rng(1).random((1, 6, 6, 2)).astype(np.float32)
    grid = geometry.make_coordinate_grid(6, 6)[None]
    same = geometry.grid_sample(image, grid, align_corners=True).numpy()
    np.testing.assert_allclose(same, image, atol=1e-6)
    shifted = geometry.grid_sample(image, grid, align_corners=False).numpy()
    assert np.abs(shifted - image).max() > 0.05


def test_grid_sample_has_gradients_for_image_and_grid():
    image = tf.constant(np.random.default_rng(2).random((1, 4, 4, 1)), tf.float32)
    grid = tf.constant([[[[0.1, -0.2], [0.3, 0.4]]]], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([image, grid])
        total = tf.reduce_sum(geometry.grid_sample(image, grid, False))
    assert np.abs(tape.gradient(total, image).numpy()).sum() > 0
    assert np.abs(tape.gradient(total, grid).numpy()).sum() > 0


def test_grid_sample_converts_to_tflite_builtins_only():
    @tf.function(
        input_signature=[
            tf.TensorSpec((1, 8, 8, 3), tf.float32),
            tf.TensorSpec((1, 4, 4, 2), tf.float32),
        ]
    )
    def sample(image, grid):
        return geometry.grid_sample(image, grid, align_corners=True)

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [sample.get_concrete_function()], sample
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    assert len(converter.convert()) > 0  # raises if any op needs Flex


def test_inverse_and_product_of_2x2_matrices():
    rng = np.random.default_rng(3)
    matrices = rng.normal(size=(4, 3, 2, 2)).astype(np.float32) + 2 * np.eye(2)
    inverse = geometry.inverse_2x2(matrices).numpy()
    np.testing.assert_allclose(inverse, np.linalg.inv(matrices), rtol=1e-5, atol=1e-5)
    product = geometry.matmul_2x2(matrices, inverse).numpy()
    np.testing.assert_allclose(
        product, np.broadcast_to(np.eye(2), product.shape), atol=1e-5
    )


def test_kp2gaussian_peaks_at_the_keypoint():
    kp = np.array([[[0.0, 0.0], [1.0, -1.0]]], np.float32)  # (1, 2, 2)
    heatmap = geometry.kp2gaussian(kp, (5, 5), kp_variance=0.01).numpy()
    assert heatmap.shape == (1, 5, 5, 2)
    assert heatmap[0, 2, 2, 0] == pytest.approx(1.0)
    assert heatmap[0, 0, 4, 1] == pytest.approx(1.0)  # x=1 is column 4, y=-1 row 0
    assert heatmap[0, 2, 3, 0] == pytest.approx(np.exp(-0.5 * 0.25 / 0.01))
