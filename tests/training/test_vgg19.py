"""VGG19 perceptual features: structure, weight sources and their errors."""

import json

import h5py
import numpy as np
import pytest
import tensorflow as tf

from fomm_tf import CheckpointError
from fomm_tf.training import Vgg19Features, build_vgg19, numpy_recipe_weights
from fomm_tf.training.objectives import perceptual_depth
from fomm_tf.training.vgg19 import CAFFE_MEAN_RGB, KERAS_LAYER_NAMES, conv_layout
from tests.harness import nhwc
from tests.test_torch_checkpoint import _dict_pickle, _tensor_ops, _write_zip


def random_state_dict(seed=0):
    """Small random torchvision-layout weights (keeps activations O(1))."""
    rng = np.random.default_rng(seed)
    state = {}
    for index, in_channels, out_channels in conv_layout():
        scale = np.sqrt(2.0 / (in_channels * 9))
        shape = (out_channels, in_channels, 3, 3)
        state[f"features.{index}.weight"] = (rng.standard_normal(shape) * scale).astype(
            np.float32
        )
        state[f"features.{index}.bias"] = rng.standard_normal(out_channels).astype(
            np.float32
        ) * np.float32(0.01)
    return state


@pytest.fixture(scope="module")
def recipe():
    return numpy_recipe_weights()


def test_recipe_reproduces_fixture_checksums(recipe, fixtures_dir):
    manifest = json.loads((fixtures_dir / "vox_small_train_manifest.json").read_text())
    checksums = manifest["vgg19_recipe"]["checksums"]
    assert [c["index"] for c in checksums] == [i for i, _, _ in conv_layout()]
    for entry in checksums:
        weight = recipe[f"features.{entry['index']}.weight"].astype(np.float64)
        bias = recipe[f"features.{entry['index']}.bias"].astype(np.float64)
        assert list(weight.shape) == entry["weight_shape"]
        assert weight.sum() == entry["weight_sum"]
        assert (weight**2).sum() == entry["weight_sumsq"]
        assert bias.sum() == entry["bias_sum"]
        assert (bias**2).sum() == entry["bias_sumsq"]
        np.testing.assert_array_equal(weight.ravel()[:4], entry["weight_first4"])


def test_slices_have_torchvision_shapes_with_floor_pooling():
    vgg = Vgg19Features()
    vgg.set_torch_weights(random_state_dict())
    features = vgg(tf.random.stateless_uniform((2, 36, 36, 3), (1, 2)))
    shapes = [tuple(f.shape) for f in features]
    assert shapes == [
        (2, 36, 36, 64),
        (2, 18, 18, 128),
        (2, 9, 9, 256),
        (2, 4, 4, 512),  # floor(9 / 2)
        (2, 2, 2, 512),
    ]
    assert all(float(tf.reduce_min(f)) >= 0.0 for f in features)  # ReLU outputs
    assert not vgg.trainable_variables


def test_fewer_slices_are_the_first_slices_of_all():
    vgg = Vgg19Features()
    vgg.set_torch_weights(random_state_dict())
    images = tf.random.stateless_uniform((2, 36, 36, 3), (3, 4))
    every = vgg(images)
    first_two = vgg(images, num_slices=2)
    assert len(first_two) == 2
    for short, full in zip(first_two, every[:2], strict=True):
        np.testing.assert_array_equal(short.numpy(), full.numpy())


def test_perceptual_depth_stops_at_the_last_weighted_slice():
    assert perceptual_depth([10, 10, 0, 0, 0]) == 2
    assert perceptual_depth([0, 0, 1, 0, 0]) == 3
    assert perceptual_depth([1, 1, 1, 1, 1]) == 5


def test_recipe_weights_match_official_vgg_outputs(recipe, fixtures_dir):
    io = np.load(fixtures_dir / "vox_small_train_io.npz")
    vgg = Vgg19Features()
    vgg.set_torch_weights(recipe)
    features = vgg(tf.constant(nhwc(io["train/pyramid/real/scale_0.125"])))
    for index, feature in enumerate(features):
        expected = nhwc(io[f"train/vgg/real/scale_0.125/slice_{index + 1}"])
        np.testing.assert_allclose(feature, expected, rtol=0, atol=5e-5)


def write_keras_h5(path, state):
    """A file laid out like ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``."""
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [n.encode() for n in KERAS_LAYER_NAMES]
        for name, (index, _, _) in zip(KERAS_LAYER_NAMES, conv_layout(), strict=True):
            group = file.create_group(name)
            names = [f"{name}/kernel:0", f"{name}/bias:0"]
            group.attrs["weight_names"] = [n.encode() for n in names]
            weight = state[f"features.{index}.weight"]
            group[names[0]] = np.transpose(weight, (2, 3, 1, 0))  # HWIO
            group[names[1]] = state[f"features.{index}.bias"]
    return path


def test_keras_h5_weights_see_caffe_preprocessed_input(tmp_path):
    state = random_state_dict(seed=3)
    vgg = build_vgg19(write_keras_h5(tmp_path / "vgg19_notop.h5", state))
    images = tf.random.stateless_uniform((1, 16, 16, 3), (7, 8))
    # What Keras's VGG19 computes: BGR in 0..255 minus the Caffe means.
    caffe = images[..., ::-1] * 255.0 - np.asarray(CAFFE_MEAN_RGB[::-1], np.float32)
    kernel = np.transpose(state["features.0.weight"], (2, 3, 1, 0))
    expected = tf.nn.relu(
        tf.nn.conv2d(caffe, kernel, 1, "SAME") + state["features.0.bias"]
    )
    relu1_1 = vgg(images)[0]
    interior = (slice(None), slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(
        relu1_1[interior], expected[interior], rtol=1e-4, atol=1e-3
    )
    # The border differs only by the two conventions' zero padding, under 0.5 in
    # Caffe's 0..255 input units.
    padding_bound = 0.5 * np.abs(kernel).sum(axis=(0, 1, 2)).max()
    np.testing.assert_allclose(relu1_1, expected, rtol=0, atol=padding_bound)
    later = vgg.convs[2].kernel.numpy()
    np.testing.assert_array_equal(
        later, np.transpose(state["features.2.weight"], (2, 3, 1, 0))
    )


def write_torch_zip(path, state):
    """A torch zip checkpoint holding ``state`` (float32 tensors)."""
    entries = {}
    storages = {}
    for number, (key, array) in enumerate(state.items()):
        stride = tuple(int(s // 4) for s in array.strides)
        entries[key] = _tensor_ops(str(number), array.size, 0, array.shape, stride)
        storages[str(number)] = array.astype("<f4").tobytes()
    return _write_zip(path, _dict_pickle(entries), storages)


def test_torchvision_checkpoint_is_read_without_torch(tmp_path):
    state = random_state_dict(seed=5)
    path = write_torch_zip(tmp_path / "vgg19-dcbb9e9d.pth", state)
    vgg = build_vgg19(path)
    np.testing.assert_array_equal(
        vgg.convs[28].kernel.numpy(),
        np.transpose(state["features.28.weight"], (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(vgg.convs[0].bias.numpy(), state["features.0.bias"])


def test_missing_weights_file_says_how_to_provide_it(tmp_path):
    with pytest.raises(CheckpointError) as error:
        build_vgg19(tmp_path / "nowhere.pth")
    message = str(error.value)
    assert "\n" not in message
    assert "--vgg_weights PATH" in message
    assert "vgg19-dcbb9e9d.pth" in message
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message


def test_incomplete_or_wrong_files_are_refused(tmp_path):
    state = random_state_dict()
    del state["features.2.weight"]
    with pytest.raises(CheckpointError, match=r"features\.2\.weight"):
        build_vgg19(write_torch_zip(tmp_path / "partial.pth", state))
    not_h5 = tmp_path / "broken.h5"
    not_h5.write_bytes(b"not an hdf5 file")
    with pytest.raises(CheckpointError, match="not a Keras VGG19 weights file"):
        build_vgg19(not_h5)
    wrong = random_state_dict()
    wrong["features.5.weight"] = wrong["features.5.weight"][:, :32]
    with pytest.raises(CheckpointError, match=r"features\.5\.weight has shape"):
        Vgg19Features().set_torch_weights(wrong)
