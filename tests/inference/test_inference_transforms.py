"""Inference transforms: the optimized networks keep parity with the official
outputs, the warping path bit for bit and the frames within float32 rounding of
the networks as loaded; each rewritten layer computes what it replaced."""

import keras
import numpy as np
import pytest

from fomm_tf.inference.inference_transforms import (
    optimize_for_inference,
    space_to_depth_conv,
    subpixel_up_block,
)
from fomm_tf.layers import UpBlock
from tests.harness import (
    IMAGE_ATOL,
    KP_ATOL,
    assert_close,
    load_fixture_models,
    nhwc,
    reference_kp,
)

# The decoder's sums in another order: 6e-6 measured on the fixture's frames
# (its batch-norm statistics are perturbed); a wrong fold or tap is >1e-2.
ROUNDING_ATOL = 1e-5


@pytest.fixture(scope="module")
def networks(fixtures_dir):
    """(as loaded, optimized) fixture networks."""
    optimized = load_fixture_models(align_corners=False)
    optimize_for_inference(optimized)
    return load_fixture_models(align_corners=False), optimized


def test_optimized_keypoints_are_untouched(networks, reference_io):
    loaded, optimized = networks
    images = {
        "kp_source": nhwc(reference_io["source"]),
        "kp_driving": nhwc(reference_io["driving"]),
    }
    for prefix, image in images.items():
        kp = optimized.kp_detector(image, training=False)
        as_loaded = loaded.kp_detector(image, training=False)
        for key in ("value", "jacobian"):
            np.testing.assert_array_equal(kp[key], as_loaded[key])
            assert_close(kp[key], reference_io[f"{prefix}/{key}"], KP_ATOL)


@pytest.mark.parametrize("frame", range(4))
def test_optimized_generator_keeps_parity(networks, reference_io, frame):
    loaded, optimized = networks
    io = reference_io
    inputs = dict(
        kp_source=reference_kp(io, "kp_source"),
        kp_driving=reference_kp(io, "kp_driving", frame),
        training=False,
    )
    out = optimized.generator(nhwc(io["source"]), **inputs)
    as_loaded = loaded.generator(nhwc(io["source"]), **inputs)
    for key in ("deformation", "occlusion_map"):  # the warping path: untouched
        np.testing.assert_array_equal(out[key], as_loaded[key])
    assert_close(out["prediction"], as_loaded["prediction"], ROUNDING_ATOL)
    assert_close(out["prediction"], nhwc(io[f"gen/{frame}/prediction"]), IMAGE_ATOL)


@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7])
def test_space_to_depth_conv_computes_the_convolution(kernel_size):
    keras.utils.set_random_seed(kernel_size)
    conv = keras.layers.Conv2D(3, kernel_size, padding="same")
    even = np.random.default_rng(0).normal(size=(2, 12, 10, 5)).astype(np.float32)
    odd = even[:1, :7, :9]  # odd sizes keep the plain convolution
    expected = [conv(even).numpy(), conv(odd).numpy()]
    space_to_depth_conv(conv)
    for image, want in zip([even, odd], expected, strict=True):
        assert_close(conv(image), want, ROUNDING_ATOL)


def test_subpixel_up_block_computes_the_block():
    keras.utils.set_random_seed(1)
    block = UpBlock(6)
    image = np.random.default_rng(1).normal(size=(2, 5, 7, 4)).astype(np.float32)
    block(image)
    rng = np.random.default_rng(2)
    mean, variance = rng.normal(size=6), rng.uniform(0.5, 2.0, size=6)
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    block.norm.set_weights([gamma, beta, mean, variance])
    expected = block(image, training=False).numpy()
    subpixel_up_block(block)
    assert_close(block(image, training=False), expected, ROUNDING_ATOL)
