"""The ``reconstruction`` loss weight: a fomm-tf extension, off by default."""

import numpy as np
import pytest

import fomm_tf
from fomm_tf.training.objectives import active_losses, pyramid_l1
from tests.harness import CONFIGS


def test_official_configs_keep_the_official_objective():
    for path in CONFIGS.glob("*.yaml"):
        weights = fomm_tf.load_config(path).train_params.loss_weights
        assert weights.reconstruction == 0.0
        assert "reconstruction" not in active_losses(weights)


def test_pyramid_l1_sums_the_mean_error_of_every_scale():
    rng = np.random.default_rng(0)
    real = {
        "prediction_1": rng.random((2, 8, 8, 3)),
        "prediction_0.5": rng.random((2, 4, 4, 3)),
    }
    generated = {key: value + 0.25 for key, value in real.items()}
    generated["prediction_0.5"] = real["prediction_0.5"] - 0.5
    assert float(pyramid_l1(generated, real)) == pytest.approx(0.75)
