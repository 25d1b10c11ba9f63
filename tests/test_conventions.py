"""Every pinned convention in ``fomm_tf.conventions`` is what the models use."""

import keras
import numpy as np
import pytest

import fomm_tf
from fomm_tf import conventions, geometry, layers
from fomm_tf.torch_checkpoint import load_state_dicts


@pytest.fixture(scope="module")
def models(fixtures_dir):
    return fomm_tf.build_models(fomm_tf.load_config(fixtures_dir / "vox_small.yaml"))


def test_values_are_the_official_ones():
    assert conventions.GRID_RANGE == (-1.0, 1.0)
    assert conventions.DEFAULT_ALIGN_CORNERS is True
    assert conventions.BATCH_NORM_EPSILON == 1e-5
    assert conventions.BATCH_NORM_MOMENTUM == 0.9  # torch momentum 0.1
    assert conventions.VGG_MEAN == (0.485, 0.456, 0.406)
    assert conventions.VGG_STD == (0.229, 0.224, 0.225)
    assert conventions.LEAKY_RELU_SLOPE == 0.2


def test_config_default_grid_convention_is_align_corners_true(models):
    assert models.config.model_params.common_params.align_corners is True
    assert models.generator.dense_motion_network.align_corners is True


def test_every_batch_norm_uses_torch_epsilon_and_momentum(models):
    norms = [
        layer
        for model in (models.kp_detector, models.generator)
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 10 + 10 + 1 + 2 + 2 + 12  # hourglasses, first, down, up, res
    for layer in norms:
        assert layer.epsilon == 1e-5 and layer.momentum == 0.9


@pytest.mark.parametrize(
    "scale, size, sigma", [(0.5, 5, 0.5), (0.25, 13, 1.5), (0.125, 29, 3.5)]
)
def test_anti_alias_kernel_size_and_sigma(scale, size, sigma):
    assert conventions.anti_alias_kernel_size(scale) == size
    assert conventions.anti_alias_sigma(scale) == sigma
    kernel = geometry.anti_alias_kernel(scale, 3)
    assert kernel.shape == (size, size, 3, 1)
    np.testing.assert_allclose(kernel.sum(axis=(0, 1)), 1.0, rtol=1e-6)


def test_anti_alias_kernel_equals_the_official_buffer(fixtures_dir):
    state = load_state_dicts(fixtures_dir / "vox_small.pth.tar", ("kp_detector",))
    official = state["kp_detector"]["down.weight"]  # (3, 1, 13, 13)
    ours = geometry.anti_alias_kernel(0.25, 3)
    np.testing.assert_allclose(np.transpose(ours, (2, 3, 0, 1)), official, atol=1e-8)


def test_anti_alias_downsampling_keeps_pixels_from_index_zero():
    layer = layers.AntiAliasDownsample(1, 0.25)
    image = np.zeros((1, 16, 16, 1), np.float32)
    image[0, 0, 0, 0] = 1.0
    out = layer(image).numpy()
    assert out.shape == (1, 4, 4, 1)
    kernel = geometry.anti_alias_kernel(0.25, 1)
    assert out[0, 0, 0, 0] == pytest.approx(kernel[6, 6, 0, 0])  # centred, padding 6
