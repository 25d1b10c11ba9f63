"""Models for any config: variants, serialisation, full-size official configs."""

import keras
import numpy as np
import pytest

import fomm_tf
from fomm_tf import checkpoint_import
from tests.harness import CONFIGS, fixture_config

# Trainable parameters of the official modules for vox-256 (issue 2).
VOX_256_PARAMETERS = {
    "kp_detector": 14_215_368,
    "generator": 45_575_391,
    "dense_motion_network": 37_730_268,
    "discriminator": 2_758_849,
}


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def random_inputs(models, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    height, width, channels = models.config.dataset_params.frame_shape
    return rng.random((batch, height, width, channels)).astype(np.float32)


def run_all(models, images):
    kp = models.kp_detector(images)
    first = {key: value[:1] for key, value in kp.items()}
    last = {key: value[-1:] for key, value in kp.items()}
    generated = models.generator(images[:1], kp_source=first, kp_driving=last)
    disc = models.discriminator(images, kp=kp)
    return kp, generated, disc


VARIANTS = {
    "no_jacobian": {"model_params__common_params__estimate_jacobian": False},
    "single_jacobian_map": {
        "model_params__kp_detector_params__single_jacobian_map": True
    },
    "no_sn_use_kp_two_scales": {
        "model_params__discriminator_params__sn": False,
        "model_params__discriminator_params__use_kp": True,
        "model_params__discriminator_params__scales": (1.0, 0.5),
    },
    "other_widths": {
        "model_params__kp_detector_params__block_expansion": 4,
        "model_params__generator_params__block_expansion": 6,
        "model_params__discriminator_params__block_expansion": 4,
    },
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_import_their_own_state_dicts(variant):
    """Official-layout weights of any variant map back onto a fresh model exactly."""
    cfg = fixture_config(128, **VARIANTS[variant])
    source = fomm_tf.build_models(cfg)
    images = random_inputs(source)
    expected = run_all(source, images)
    target = fomm_tf.build_models(cfg)
    checkpoint_import.assign_state_dicts(
        target, checkpoint_import.export_state_dicts(source)
    )
    actual = run_all(target, images)
    for want, got in zip(
        keras.tree.flatten(expected), keras.tree.flatten(actual), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got))
    kp = expected[0]
    assert ("jacobian" in kp) == cfg.model_params.common_params.estimate_jacobian


def test_keypoints_and_outputs_have_documented_shapes():
    models = fomm_tf.build_models(fixture_config(128))
    kp, generated, disc = run_all(models, random_inputs(models))
    assert kp["value"].shape == (2, 10, 2)
    assert kp["jacobian"].shape == (2, 10, 2, 2)
    assert np.abs(kp["value"]).max() <= 1.0
    shapes = {key: tuple(value.shape) for key, value in generated.items()}
    assert shapes == {
        "prediction": (1, 128, 128, 3),
        "deformed": (1, 128, 128, 3),
        "mask": (1, 32, 32, 11),
        "sparse_deformed": (1, 11, 32, 32, 3),
        "occlusion_map": (1, 32, 32, 1),
        "deformation": (1, 32, 32, 2),
    }
    assert sorted(disc) == ["feature_maps_1", "prediction_map_1"]


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    cfg = fixture_config(128, **VARIANTS["no_sn_use_kp_two_scales"])
    models = fomm_tf.build_models(cfg)
    path = tmp_path / "tiny.keras"
    models.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.config == cfg
    images = random_inputs(models)
    for want, got in zip(
        keras.tree.flatten(run_all(models, images)),
        keras.tree.flatten(run_all(reloaded, images)),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got))


def test_every_layer_round_trips_its_config():
    models = fomm_tf.build_models(fixture_config(128))
    for model in (models.kp_detector, models.generator, models.discriminator):
        for layer in model._flatten_layers():
            config = layer.get_config()
            clone = type(layer).from_config(config)
            assert clone.get_config() == config, type(layer).__name__


@pytest.mark.slow
def test_vox_256_parameter_counts_match_the_official_modules():
    models = fomm_tf.build_models(fomm_tf.load_config(CONFIGS / "vox-256.yaml"))
    counts = {
        "kp_detector": count(models.kp_detector),
        "generator": count(models.generator),
        "dense_motion_network": count(models.generator.dense_motion_network),
        "discriminator": count(models.discriminator),
    }
    assert counts == VOX_256_PARAMETERS


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    sorted(path.name for path in CONFIGS.glob("*.yaml") if path.name != "vox-256.yaml"),
)
def test_every_official_config_builds_at_full_size(name):
    cfg = fomm_tf.load_config(CONFIGS / name)
    models = fomm_tf.build_models(cfg)
    common = cfg.model_params.common_params
    entries = checkpoint_import.section_entries(models)
    kp_keys = entries["kp_detector"]
    assert kp_keys["kp.weight"][0].shape[-1] == common.num_kp
    assert ("jacobian.weight" in kp_keys) == common.estimate_jacobian
    assert count(models.generator) > 0
