"""PNG-grid visualisation (fomm_tf.visualization, official logger.Visualizer)."""

import numpy as np
import pytest

from fomm_tf.visualization import Visualizer, draw_keypoints, get_colormap, visualize


def test_gist_rainbow_matches_matplotlib_table():
    cmap = get_colormap("gist_rainbow")
    np.testing.assert_allclose(cmap(0.0), (1.0, 0.0, 0.16))
    np.testing.assert_allclose(cmap(1.0), (1.0, 0.0, 0.75))
    # matplotlib: entry int(0.5 * 256) = 128 of 256, at x = 128 / 255, between
    # the control points 0.400 (0, 1, 0) and 0.586 (0, 1, 1).
    blue = (128 / 255 - 0.400) / (0.586 - 0.400)
    np.testing.assert_allclose(cmap(0.5), (0.0, 1.0, blue))
    with pytest.raises(ValueError, match="jet"):
        get_colormap("jet")


def test_draw_keypoints_fills_discs_in_keypoint_colours():
    image = np.zeros((64, 64, 3), np.float32)
    drawn = draw_keypoints(image, np.array([[0.0, 0.0], [0.5, -0.5]]), kp_size=5)
    colours = get_colormap("gist_rainbow")(np.array([0.0, 0.5]))
    first = np.all(np.isclose(drawn, colours[0]), axis=-1)
    assert first.sum() == 69  # lattice points strictly inside radius 5
    assert first[32, 32] and not first[32, 37]
    # (x, y) = (0.5, -0.5) -> pixel (48, 16)
    np.testing.assert_allclose(drawn[16, 48], colours[1], rtol=1e-6)
    assert image.max() == 0  # input untouched


def fake_outputs(batch, size, num_kp, rng):
    low = size // 4
    mask = rng.uniform(size=(batch, low, low, num_kp + 1)).astype(np.float32)
    return {
        "prediction": rng.uniform(size=(batch, size, size, 3)),
        "deformed": rng.uniform(size=(batch, size, size, 3)),
        "occlusion_map": rng.uniform(size=(batch, low, low, 1)),
        "sparse_deformed": rng.uniform(size=(batch, num_kp + 1, low, low, 3)),
        "mask": mask / mask.sum(-1, keepdims=True),
    }


def test_grid_layout_matches_official_columns():
    rng = np.random.default_rng(0)
    batch, size, num_kp = 2, 32, 3
    out = fake_outputs(batch, size, num_kp, rng)
    source = rng.uniform(size=(batch, size, size, 3))
    driving = rng.uniform(size=(batch, size, size, 3))
    kp = {"value": rng.uniform(-0.8, 0.8, (batch, num_kp, 2))}
    grid = visualize(source, driving, out, kp, kp["value"], kp_size=2)
    # source, driving, deformed, prediction, occlusion, 2 per transform, mask sum
    columns = 5 + 2 * (num_kp + 1) + 1
    assert grid.shape == (batch * size, columns * size, 3) and grid.dtype == np.uint8

    def column(index):
        return grid[:, index * size : (index + 1) * size]

    stacked = np.concatenate(list(out["prediction"]), axis=0)
    np.testing.assert_array_equal(column(3), (255 * stacked).astype(np.uint8))
    occlusion = np.repeat(np.repeat(out["occlusion_map"][0], 4, 0), 4, 1)
    np.testing.assert_array_equal(
        column(4)[:size, :, 0], (255 * occlusion[..., 0]).astype(np.uint8)
    )
    background = np.repeat(np.repeat(out["mask"][0, ..., 0], 4, 0), 4, 1)
    np.testing.assert_array_equal(
        column(6)[:size, :, 1], (255 * background).astype(np.uint8)
    )
    assert column(0)[:size].tolist() != (255 * source[0]).astype(np.uint8).tolist()


def test_border_and_optional_columns():
    rng = np.random.default_rng(1)
    out = {"prediction": rng.uniform(size=(1, 16, 16, 3))}
    source = rng.uniform(size=(1, 16, 16, 3)) * 0.5
    kp = np.zeros((1, 2, 2))
    plain = Visualizer(kp_size=1).visualize(source, source, out, kp, kp)
    assert plain.shape == (16, 48, 3)
    with_kp_norm = dict(out, kp_norm=kp)
    bordered = Visualizer(kp_size=1, draw_border=True).visualize(
        source, source, with_kp_norm, kp, kp
    )
    assert bordered.shape == (16, 64, 3)
    assert np.all(bordered[:, [0, 15, 16, 31]] == 255)
