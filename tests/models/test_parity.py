"""The Keras port against the official PyTorch outputs (fixtures' README)."""

import numpy as np
import pytest

import fomm_tf
from tests.harness import (
    IMAGE_ATOL,
    KP_ATOL,
    assert_close,
    load_fixture_models,
    nhwc,
    record_returns,
    reference_kp,
)

END_TO_END_ATOL = 2e-3  # own keypoints into own generator


@pytest.fixture(scope="module")
def models(fixtures_dir):
    return load_fixture_models(align_corners=False)


@pytest.fixture(scope="module")
def source(reference_io):
    return nhwc(reference_io["source"])


def test_legacy_and_zip_checkpoints_give_identical_weights(fixtures_dir, models):
    legacy = fomm_tf.load_checkpoint(
        fixtures_dir / "vox_small.yaml",
        fixtures_dir / "vox_small_legacy.pth.tar",
        align_corners=False,
    )
    for ours, theirs in zip(models.weights, legacy.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_keypoint_detector(models, source, reference_io, monkeypatch):
    io = reference_io
    heatmaps = record_returns(monkeypatch, models.kp_detector, "heatmap")
    kp = models.kp_detector(source)
    assert_close(kp["value"], io["kp_source/value"], KP_ATOL)
    assert_close(kp["jacobian"], io["kp_source/jacobian"], KP_ATOL)
    assert_close(heatmaps[0], nhwc(io["kp_source/heatmap"]), KP_ATOL)
    driving = models.kp_detector(nhwc(io["driving"]))
    assert_close(driving["value"], io["kp_driving/value"], KP_ATOL)
    assert_close(driving["jacobian"], io["kp_driving/jacobian"], KP_ATOL)


def test_keypoint_detector_intermediates(models, source, reference_io, monkeypatch):
    detector = models.kp_detector
    down = detector.down(source)
    assert_close(down, nhwc(reference_io["kp_source/down"]), 1e-5)
    hourglass = detector.predictor
    encoder = [
        record_returns(monkeypatch, block, "call") for block in hourglass.down_blocks
    ]
    decoder = [
        record_returns(monkeypatch, block, "call") for block in hourglass.up_blocks
    ]
    feature_map = hourglass(down)
    for i, (block,) in enumerate(encoder):
        expected = nhwc(reference_io[f"kp_source/encoder/down_block_{i}"])
        assert_close(block, expected, KP_ATOL)
    for i, (block,) in enumerate(decoder):
        expected = nhwc(reference_io[f"kp_source/decoder/up_block_{i}"])
        assert_close(block, expected, KP_ATOL)
    assert_close(feature_map, nhwc(reference_io["kp_source/feature_map"]), KP_ATOL)


@pytest.mark.parametrize("frame", range(4))
def test_generator_on_reference_keypoints(models, source, reference_io, frame):
    io = reference_io
    out = models.generator(
        source,
        kp_source=reference_kp(io, "kp_source"),
        kp_driving=reference_kp(io, "kp_driving", frame),
    )
    for key in ("mask", "occlusion_map"):
        assert_close(out[key], nhwc(io[f"gen/{frame}/{key}"]), KP_ATOL)
    assert_close(out["deformation"], io[f"gen/{frame}/deformation"], KP_ATOL)
    assert_close(out["prediction"], nhwc(io[f"gen/{frame}/prediction"]), IMAGE_ATOL)


def test_generator_intermediates(models, source, reference_io, monkeypatch):
    io = reference_io
    generator = models.generator
    dense_motion = generator.dense_motion_network
    motions = record_returns(monkeypatch, dense_motion, "sparse_motions")
    heatmaps = record_returns(monkeypatch, dense_motion, "heatmap_representation")
    moved = record_returns(monkeypatch, generator, "moved_features")
    out = generator(
        source,
        kp_source=reference_kp(io, "kp_source"),
        kp_driving=reference_kp(io, "kp_driving", 0),
    )
    sparse = np.transpose(io["gen/0/sparse_deformed"], (0, 1, 3, 4, 2))
    assert_close(out["sparse_deformed"], sparse, KP_ATOL)
    expected = np.transpose(io["gen/0/dm/sparse_motion"], (0, 2, 3, 1, 4))
    assert_close(motions[0], expected, KP_ATOL)
    heatmap = nhwc(io["gen/0/dm/heatmap_representation"][:, :, 0])
    assert_close(heatmaps[0], heatmap, KP_ATOL)
    # Warped features and images amplify flow rounding by their spatial gradient,
    # like the prediction: its tolerance applies, relative to their magnitude.
    bottleneck = nhwc(io["gen/0/bottleneck_input"])
    atol = IMAGE_ATOL * np.abs(bottleneck).max()
    _, features = moved[0]
    assert_close(features, bottleneck, atol)
    assert_close(out["deformed"], nhwc(io["gen/0/deformed"]), IMAGE_ATOL)


def test_end_to_end(models, source, reference_io):
    driving = nhwc(reference_io["driving"])
    kp_source = models.kp_detector(source)
    kp_driving = models.kp_detector(driving)
    for frame in range(4):
        kp_frame = {key: value[frame : frame + 1] for key, value in kp_driving.items()}
        out = models.generator(source, kp_source=kp_source, kp_driving=kp_frame)
        expected = nhwc(reference_io[f"gen/{frame}/prediction"])
        assert_close(out["prediction"], expected, END_TO_END_ATOL)


@pytest.mark.parametrize("frame", range(4))
def test_normalize_kp_and_generator(models, source, reference_io, frame):
    io = reference_io
    normalized = fomm_tf.normalize_kp(
        reference_kp(io, "kp_source"),
        reference_kp(io, "kp_driving", frame),
        reference_kp(io, "kp_driving", 0),
        use_relative_movement=True,
        use_relative_jacobian=True,
        adapt_movement_scale=True,
    )
    assert_close(normalized["value"], io[f"norm/{frame}/value"], KP_ATOL)
    assert_close(normalized["jacobian"], io[f"norm/{frame}/jacobian"], KP_ATOL)
    out = models.generator(
        source, kp_source=reference_kp(io, "kp_source"), kp_driving=normalized
    )
    for key in ("prediction", "occlusion_map"):
        atol = IMAGE_ATOL if key == "prediction" else KP_ATOL
        assert_close(out[key], nhwc(io[f"gen_norm/{frame}/{key}"]), atol)
    assert_close(out["deformation"], io[f"gen_norm/{frame}/deformation"], KP_ATOL)


def test_align_corners_true(fixtures_dir, source, reference_io):
    io = reference_io
    models = fomm_tf.load_checkpoint(
        fixtures_dir / "vox_small.yaml", fixtures_dir / "vox_small.pth.tar"
    )
    assert models.config.model_params.common_params.align_corners is True
    out = models.generator(
        source,
        kp_source=reference_kp(io, "kp_source"),
        kp_driving=reference_kp(io, "kp_driving", 0),
    )
    prefix = "gen_align_corners_true/0"
    sparse = np.transpose(io[f"{prefix}/sparse_deformed"], (0, 1, 3, 4, 2))
    assert_close(out["sparse_deformed"], sparse, KP_ATOL)
    assert_close(out["deformation"], io[f"{prefix}/deformation"], KP_ATOL)
    assert_close(out["occlusion_map"], nhwc(io[f"{prefix}/occlusion_map"]), KP_ATOL)
    assert_close(out["prediction"], nhwc(io[f"{prefix}/prediction"]), IMAGE_ATOL)
    differs = np.abs(out["prediction"] - nhwc(io["gen/0/prediction"])).max()
    assert differs > 0.1  # the two conventions really differ


def test_discriminator(models, source, reference_io):
    out = models.discriminator(source)
    for i in range(4):
        expected = nhwc(reference_io[f"disc/feature_map_{i}"])
        assert_close(out["feature_maps_1"][i], expected, KP_ATOL)
    expected = nhwc(reference_io["disc/prediction_map"])
    assert_close(out["prediction_map_1"], expected, KP_ATOL)


def test_spectral_norm_eval_sigma(models, reference_io):
    disc = models.discriminator.discs[0]
    layers = [block.conv for block in disc.down_blocks] + [disc.conv]
    names = [f"down_block_{i}" for i in range(4)] + ["final_conv"]
    for layer, name in zip(layers, names, strict=True):
        sigma = float(layer.sigma(training=False))
        np.testing.assert_allclose(
            sigma, reference_io[f"disc/sn_sigma/{name}"][0], rtol=1e-5
        )
