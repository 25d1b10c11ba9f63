"""Every building block: output shape, and a config round trip that rebuilds the
same layer (same outputs once the weights are copied)."""

import keras
import numpy as np
import pytest

from fomm_tf import layers

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


@pytest.mark.parametrize("layer, channels, shape", CASES, ids=lambda c: str(c))
def test_shape_and_config_round_trip(layer, channels, shape):
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, channels))
    images = images.astype(np.float32)
    out = layer(images)
    assert tuple(out.shape) == shape
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    rebuilt(images)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(images), out)
    assert rebuilt.get_config() == config


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
    images = np.random.default_rng(1).uniform(size=(1, 16, 16, 3)).astype(np.float32)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded(images), model(images))
