"""Every building block: output shape, a value it must produce, and a config
round trip that rebuilds the same layer (same outputs once the weights are
copied)."""

import keras
import numpy as np
import pytest

from fomm_tf import layers
from tests.harness import layer_round_trip

# (layer, input channels, expected output shape of a (2, 16, 16, C) input)
CASES = [
    (layers.SameBlock(8, 3, name="same"), 3, (2, 16, 16, 8)),
    (layers.DownBlock(8, 3, name="down"), 3, (2, 8, 8, 8)),
    (layers.UpBlock(8, 3, name="up"), 3, (2, 32, 32, 8)),
    (layers.ResBlock(4, 3, name="res"), 4, (2, 16, 16, 4)),
    # out channels: block_expansion + input channels (official out_filters)
    (layers.Hourglass(4, 16, 2, name="hourglass"), 3, (2, 16, 16, 7)),
    # sigma 0.5 at scale 0.5: kernel 5, every 2nd pixel
    (layers.AntiAliasDownsample(3, 0.5, name="aa"), 3, (2, 8, 8, 3)),
    # valid 4x4 conv: 16 - 3 = 13, pooled to 6
    (layers.DiscriminatorBlock(8, 4, norm=True, pool=True, name="disc"), 3,
     (2, 6, 6, 8)),
    (layers.SpectralNormConv2D(5, 3, name="sn"), 3, (2, 14, 14, 5)),
]  # fmt: skip


def images(channels, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(2, size, size, channels)).astype(np.float32)


@pytest.mark.parametrize("layer, channels, shape", CASES, ids=lambda c: str(c))
def test_shape_and_config_round_trip(layer, channels, shape):
    assert tuple(layer_round_trip(layer, images(channels)).shape) == shape


def test_image_pyramid_keys_shapes_and_identity_scale():
    pyramid = layers.ImagePyramid((1, 0.5, 0.25), 3, name="pyramid")
    inputs = images(3)
    out = layer_round_trip(pyramid, inputs)
    shapes = {key: tuple(value.shape) for key, value in out.items()}
    assert shapes == {
        "prediction_1": (2, 16, 16, 3),
        "prediction_0.5": (2, 8, 8, 3),
        "prediction_0.25": (2, 4, 4, 3),
    }
    np.testing.assert_array_equal(out["prediction_1"], inputs)


def test_anti_alias_downsample_keeps_a_constant_inside_the_border():
    # The normalised gaussian keeps a flat image flat, away from the zero padding.
    flat = np.full((1, 32, 32, 1), 0.7, np.float32)
    out = np.asarray(layers.AntiAliasDownsample(1, 0.25)(flat))
    np.testing.assert_allclose(out[0, 2:-2, 2:-2], 0.7, rtol=1e-6)


def test_spectral_norm_converges_to_the_largest_singular_value():
    layer = layers.SpectralNormConv2D(5, 3)
    layer(images(3))
    for _ in range(200):
        layer.sigma(training=True)  # one power iteration
    largest = np.linalg.svd(layer.weight_matrix().numpy(), compute_uv=False)[0]
    np.testing.assert_allclose(layer.sigma(training=False), largest, rtol=1e-4)


def test_res_block_adds_its_input():
    block = layers.ResBlock(4, 3)
    inputs = images(4)
    block(inputs)
    block.conv2.set_weights([np.zeros_like(w) for w in block.conv2.get_weights()])
    np.testing.assert_array_equal(block(inputs), inputs)


def test_config_holds_the_constructor_arguments_with_defaults():
    config = layers.DiscriminatorBlock(8, name="block").get_config()
    expected = dict(filters=8, kernel_size=4, norm=False, pool=False, sn=False)
    assert {key: config[key] for key in expected} == expected
    assert config["name"] == "block"


def test_a_keras_file_reloads_a_layer(tmp_path):
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, layers.Hourglass(4, 16, 2, name="hourglass")(inputs))
    path = tmp_path / "hourglass.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded(images(3, seed=1)), model(images(3, seed=1)))
