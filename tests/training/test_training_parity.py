"""One official training iteration (TRAIN_README.md) reproduced term by term.

Fixture weights on current-torch semantics (align_corners=False), train-mode
networks, the transform injected and VGG19 from the numpy recipe.  Tolerances
are TRAIN_README's "suggested port tolerances" unless a comment says otherwise.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

import fomm_tf
from fomm_tf.checkpoint_import import (
    discriminator_entries,
    generator_entries,
    kp_detector_entries,
)
from fomm_tf.config import config_from_dict
from fomm_tf.training import (
    ImagePyramid,
    Transform,
    Vgg19Features,
    discriminator_losses,
    generator_losses,
    numpy_recipe_weights,
)
from tests.harness import assert_close, nhwc, tiny_config

pytestmark = pytest.mark.slow

LOSS_RTOL = 1e-5
KP_ATOL = 1e-5
IMAGE_ATOL = 2e-5  # transformed frame, pyramids, mask, occlusion
PREDICTION_ATOL = 1e-4
D_MAP_ATOL = 2e-4
# Quantities computed from the prediction inherit its float32 error (6e-5 here,
# budget PREDICTION_ATOL): its pyramid (a blur, which cannot amplify it) and the
# discriminator maps of it (features up to 9; 2.5e-4 observed, 3e-5 relative).
GENERATED_PYRAMID_ATOL = 5e-5
GENERATED_D_MAP_ATOL = 5e-4
SIGMA_ATOL = 1e-6
D_GRAD_RTOL = 1e-4
GENERATOR_GRAD_RTOL = 2e-3
KP_GRAD_RTOL = 5e-3
# The gen_gan share of the detector gradient is float32 noise-limited: in float64
# this port gives 37.8467 (its total detector norm 1182.44496 equals the official
# float64 rerun to 1e-8), official float32 37.8993, this port in float32 within
# about 1e-2 depending on oneDNN's summation order.
KP_GEN_GAN_GRAD_RTOL = 1.5e-2
EQUIVARIANCE_GRAD_RTOL = 1e-5
TENSOR_REL_L2 = 1e-2
ZERO_GRAD_ATOL = 1e-4
# Per-parameter norms (not in TRAIN_README): relative, or absolute for the
# parameters whose gradient is zero in theory (float32 noise in both codes).
PER_PARAM_RTOL = {"kp_detector": 2e-2, "generator": 1e-2, "discriminator": 1e-3}
PER_PARAM_ZERO_ATOL = 1e-3

TERMS = (
    "perceptual",
    "gen_gan",
    "feature_matching",
    "equivariance_value",
    "equivariance_jacobian",
)
SN_CONVS = (
    "discs.1.down_blocks.0.conv",
    "discs.1.down_blocks.1.conv",
    "discs.1.down_blocks.2.conv",
    "discs.1.down_blocks.3.conv",
    "discs.1.conv",
)


def l2(arrays):
    """Float64 L2 norm over several tensors, as the fixture."""
    return float(np.sqrt(sum(np.sum(np.asarray(a, np.float64) ** 2) for a in arrays)))


def to_torch_layout(gradient):
    """An HWIO kernel gradient back to torch's OIHW."""
    gradient = np.asarray(gradient)
    return np.transpose(gradient, (3, 2, 0, 1)) if gradient.ndim == 4 else gradient


def named_gradients(model, entries, gradients):
    """torch parameter name -> gradient in torch layout (trainable only)."""
    position = {id(v): i for i, v in enumerate(model.trainable_variables)}
    return {
        name: to_torch_layout(gradients[position[id(variable)]])
        for name, (variable, _) in entries(model).items()
        if id(variable) in position
    }


def sigmas(discriminator):
    """torch name -> sigma from the stored u, v (that of the last forward)."""
    return {
        name: float(variable_layer.sigma(training=False))
        for name, variable_layer in spectral_layers(discriminator).items()
    }


def spectral_layers(discriminator):
    disc = discriminator.discs[0]
    layers = {
        f"discs.1.down_blocks.{i}.conv": b.conv for i, b in enumerate(disc.down_blocks)
    }
    layers["discs.1.conv"] = disc.conv
    return layers


@pytest.fixture(scope="module")
def manifest(fixtures_dir):
    return json.loads((fixtures_dir / "vox_small_train_manifest.json").read_text())


@pytest.fixture(scope="module")
def iteration(fixtures_dir, train_io, manifest):
    """Runs the official call order once on fresh models; returns every result."""
    io = train_io
    models = fomm_tf.load_checkpoint(
        fixtures_dir / "vox_small.yaml",
        fixtures_dir / "vox_small.pth.tar",
        align_corners=False,
    )
    train_params = config_from_dict(
        {
            "model_params": manifest["model_params"],
            "train_params": manifest["train_params"],
        }
    ).train_params
    vgg = Vgg19Features()
    vgg.set_torch_weights(numpy_recipe_weights())
    pyramid = ImagePyramid(train_params.scales, 3)
    transform = Transform(
        2,
        train_params.transform_params,
        theta=io["train/transform/theta"],
        control_params=io["train/transform/control_params"],
    )
    source = tf.constant(nhwc(io["train/source"]))
    driving = tf.constant(nhwc(io["train/driving"]))
    kp_detector, generator = models.kp_detector, models.generator
    discriminator = models.discriminator
    variables = kp_detector.trainable_variables + generator.trainable_variables
    record = {}
    with tf.GradientTape(persistent=True) as tape:
        losses, generated = generator_losses(
            kp_detector, generator, discriminator, vgg, pyramid, train_params,
            source, driving, transform=transform, intermediates=record,
        )  # fmt: skip
        total = sum(losses.values())
    split = len(kp_detector.trainable_variables)
    per_term = {}
    for term, value in losses.items():
        gradients = tape.gradient(value, variables)
        present = [g if g is not None else 0.0 for g in gradients]
        per_term[term] = (l2(present[:split]), l2(present[split:]))
    gradients = tape.gradient(total, variables)
    del tape
    gen_sigmas = sigmas(discriminator)
    gen_u = spectral_layers(discriminator)[SN_CONVS[0]].u.numpy()
    disc_record = {}
    with tf.GradientTape() as tape:
        disc_loss = discriminator_losses(
            discriminator, pyramid, train_params, driving, generated,
            intermediates=disc_record,
        )["disc_gan"]  # fmt: skip
    disc_gradients = tape.gradient(disc_loss, discriminator.trainable_variables)
    return {
        "losses": losses,
        "total": total,
        "generated": generated,
        "record": record,
        "vgg": vgg,
        "per_term": per_term,
        "grads": {
            "kp_detector": named_gradients(
                kp_detector, kp_detector_entries, gradients[:split]
            ),
            "generator": named_gradients(
                generator, generator_entries, gradients[split:]
            ),
            "discriminator": named_gradients(
                discriminator, discriminator_entries, disc_gradients
            ),
        },
        "gen_sigmas": gen_sigmas,
        "gen_u": gen_u,
        "disc_sigmas": sigmas(discriminator),
        "disc_u": spectral_layers(discriminator)[SN_CONVS[0]].u.numpy(),
        "disc_loss": disc_loss,
        "disc_record": disc_record,
    }


def test_generator_loss_terms(iteration, train_io):
    losses = iteration["losses"]
    assert list(losses) == list(TERMS)
    for term in TERMS:
        np.testing.assert_allclose(
            float(losses[term]), train_io[f"train/loss/{term}"], rtol=LOSS_RTOL
        )
    np.testing.assert_allclose(
        float(iteration["total"]),
        train_io["train/loss/total_generator"],
        rtol=LOSS_RTOL,
    )


def test_unweighted_parts(iteration, train_io):
    record = iteration["record"]
    for (scale, index), value in record["perceptual_parts"].items():
        expected = train_io[f"train/perceptual_unweighted/scale_{scale}/slice_{index}"]
        np.testing.assert_allclose(float(value), expected, rtol=LOSS_RTOL)
    assert len(record["perceptual_parts"]) == 20
    for (scale, index), value in record["feature_matching_parts"].items():
        key = f"train/feature_matching_unweighted/scale_{scale}/feature_map_{index}"
        np.testing.assert_allclose(float(value), train_io[key], rtol=LOSS_RTOL)
    assert len(record["feature_matching_parts"]) == 4
    np.testing.assert_allclose(
        float(record["gen_gan_parts"]["1"]),
        train_io["train/gen_gan_unweighted/scale_1"],
        rtol=LOSS_RTOL,
    )


def test_keypoints_and_transform(iteration, train_io):
    generated, record = iteration["generated"], iteration["record"]
    for name in ("kp_source", "kp_driving", "transformed_kp"):
        for part in ("value", "jacobian"):
            assert_close(
                generated[name][part], train_io[f"train/{name}/{part}"], KP_ATOL
            )
    assert_close(
        generated["transformed_frame"],
        nhwc(train_io["train/transformed_frame"]),
        IMAGE_ATOL,
    )
    assert_close(
        record["jacobian_product"],
        train_io["train/equivariance/jacobian_product"],
        KP_ATOL,
    )


def test_generated_and_pyramids(iteration, train_io):
    generated, record = iteration["generated"], iteration["record"]
    assert_close(
        generated["prediction"],
        nhwc(train_io["train/generated/prediction"]),
        PREDICTION_ATOL,
    )
    for name in ("mask", "occlusion_map"):
        assert_close(
            generated[name], nhwc(train_io[f"train/generated/{name}"]), IMAGE_ATOL
        )
    assert sorted(record["pyramid_real"]) == [
        "prediction_0.125", "prediction_0.25", "prediction_0.5", "prediction_1",
    ]  # fmt: skip
    for side, atol in (("real", IMAGE_ATOL), ("generated", GENERATED_PYRAMID_ATOL)):
        for scale in ("0.25", "0.125"):
            assert_close(
                record[f"pyramid_{side}"][f"prediction_{scale}"],
                nhwc(train_io[f"train/pyramid/{side}/scale_{scale}"]),
                atol,
            )


def test_discriminator_maps(iteration, train_io):
    for stage, record in (
        ("gen_full", iteration["record"]),
        ("disc_full", iteration["disc_record"]),
    ):
        for side, atol in (("generated", GENERATED_D_MAP_ATOL), ("real", D_MAP_ATOL)):
            maps = record[f"disc_maps_{side}"]
            prefix = f"train/disc/{stage}/{side}"
            assert_close(
                maps["prediction_map_1"],
                nhwc(train_io[f"{prefix}/prediction_map"]),
                atol,
            )
            if stage == "gen_full":
                for index in (2, 3):
                    assert_close(
                        maps["feature_maps_1"][index],
                        nhwc(train_io[f"{prefix}/feature_map_{index}"]),
                        atol,
                    )


def test_discriminator_loss(iteration, train_io):
    np.testing.assert_allclose(
        float(iteration["disc_loss"]), train_io["train/loss/disc_gan"], rtol=LOSS_RTOL
    )
    maps = iteration["disc_record"]
    real_term = np.mean((1.0 - maps["disc_maps_real"]["prediction_map_1"].numpy()) ** 2)
    fake_term = np.mean(maps["disc_maps_generated"]["prediction_map_1"].numpy() ** 2)
    prefix = "train/disc_gan_unweighted/scale_1"
    np.testing.assert_allclose(
        real_term, train_io[f"{prefix}/real_term"], rtol=LOSS_RTOL
    )
    np.testing.assert_allclose(
        fake_term, train_io[f"{prefix}/fake_term"], rtol=LOSS_RTOL
    )


def test_spectral_norm_power_iterations(iteration, train_io):
    """Calls 2 and 4 are the last of the generator and discriminator steps."""
    for name in SN_CONVS:
        expected = train_io[f"train/disc_sn_sigma/{name}"]
        assert_close(iteration["gen_sigmas"][name], expected[1], SIGMA_ATOL)
        assert_close(iteration["disc_sigmas"][name], expected[3], SIGMA_ATOL)
    u = train_io[f"train/disc_sn_u/{SN_CONVS[0]}"]
    assert_close(iteration["gen_u"], u[1], SIGMA_ATOL)
    assert_close(iteration["disc_u"], u[3], SIGMA_ATOL)


def test_vgg_features(iteration, train_io):
    real = iteration["record"]["pyramid_real"]["prediction_0.125"]
    for index, feature in enumerate(iteration["vgg"](real)):
        expected = nhwc(train_io[f"train/vgg/real/scale_0.125/slice_{index + 1}"])
        assert_close(feature, expected, 5e-5)


def test_per_term_gradient_norms(iteration, train_io):
    for term, (kp_norm, generator_norm) in iteration["per_term"].items():
        prefix = f"train/grad_norm_per_loss/{term}"
        if term.startswith("equivariance"):
            kp_rtol = EQUIVARIANCE_GRAD_RTOL
        elif term == "gen_gan":
            kp_rtol = KP_GEN_GAN_GRAD_RTOL
        else:
            kp_rtol = KP_GRAD_RTOL
        np.testing.assert_allclose(
            kp_norm, train_io[f"{prefix}/kp_detector"], rtol=kp_rtol, err_msg=term
        )
        expected = train_io[f"{prefix}/generator"]
        if expected == 0:
            assert generator_norm == 0.0, term
        else:
            np.testing.assert_allclose(
                generator_norm, expected, rtol=GENERATOR_GRAD_RTOL, err_msg=term
            )


def test_total_gradient_norms(iteration, train_io):
    grads = iteration["grads"]
    rtols = {
        "kp_detector": KP_GRAD_RTOL,
        "generator": GENERATOR_GRAD_RTOL,
        "discriminator": D_GRAD_RTOL,
    }
    for model, rtol in rtols.items():
        np.testing.assert_allclose(
            l2(grads[model].values()), train_io[f"train/grad_norm/{model}"], rtol=rtol
        )


def test_per_parameter_gradient_norms(iteration, train_io, manifest):
    for model, names in manifest["grad_param_names"].items():
        assert sorted(names) == sorted(iteration["grads"][model])
        expected = train_io[f"train/grad_norm_per_param/{model}"]
        for name, reference in zip(names, expected, strict=True):
            norm = l2([iteration["grads"][model][name]])
            if reference < PER_PARAM_ZERO_ATOL:
                assert norm < PER_PARAM_ZERO_ATOL, name
            else:
                np.testing.assert_allclose(
                    norm, reference, rtol=PER_PARAM_RTOL[model], err_msg=name
                )


def test_full_gradient_tensors(iteration, train_io):
    checked = 0
    for key, reference in train_io.items():
        if not key.startswith("train/grad/"):
            continue
        _, _, model, name = key.split("/", 3)
        ours = iteration["grads"][model][name]
        assert ours.shape == reference.shape, key
        if name == "kp.bias":  # softmax shift invariance: zero in theory
            assert_close(ours, reference, ZERO_GRAD_ATOL)
        else:
            error = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
            assert error <= TENSOR_REL_L2, (key, error)
        checked += 1
    assert checked == 16


def test_zero_weights_skip_terms_and_graph_mode_runs():
    """As the official: zero-weight terms are absent; works under tf.function."""
    cfg = tiny_config(
        model_params__discriminator_params__use_kp=True,
        train_params__scales=[1, 0.5],
        train_params__loss_weights__generator_gan=0,
        train_params__loss_weights__perceptual=[0] * 5,
        train_params__loss_weights__equivariance_jacobian=0,
    )
    models = fomm_tf.build_models(cfg)
    pyramid = ImagePyramid(cfg.train_params.scales, 3)
    frames = tf.random.stateless_uniform((2, 2, 64, 64, 3), (1, 1))

    @tf.function
    def step(source, driving):
        losses, generated = generator_losses(
            models.kp_detector, models.generator, models.discriminator, None,
            pyramid, cfg.train_params, source, driving,
        )  # fmt: skip
        disc = discriminator_losses(
            models.discriminator, pyramid, cfg.train_params, driving, generated
        )
        return losses, disc, generated["transformed_frame"]

    losses, disc, transformed = step(frames[0], frames[1])
    assert sorted(losses) == ["equivariance_value"]
    assert float(losses["equivariance_value"]) > 0.0
    assert float(disc["disc_gan"]) > 0.0
    assert transformed.shape == (2, 64, 64, 3)
