"""Tests for the ground-truth scores of the heads world (fomm_tf.heads_scores)."""

import types

import numpy as np
import pytest
import tensorflow as tf

from fomm_tf import heads_scores, synthetic, synthetic_heads


class _CopySource(tf.Module):
    """A 'model' that predicts the source frame: its scores are the baselines."""

    def __init__(self, size, num_kp=3):
        frame_shape = (size, size, 3)
        self.config = types.SimpleNamespace(
            dataset_params=types.SimpleNamespace(frame_shape=frame_shape)
        )
        self.num_kp = num_kp

    def kp_detector(self, frames, training=False):
        count = len(frames)
        means = tf.reduce_mean(tf.convert_to_tensor(frames), axis=(1, 2))[:, :2]
        value = tf.tile(means[:, None, :], (1, self.num_kp, 1))
        jacobian = tf.tile(tf.eye(2)[None, None], (count, self.num_kp, 1, 1))
        return {"value": value, "jacobian": jacobian}

    def generator(self, source, kp_source, kp_driving, training=False):
        return {"prediction": tf.convert_to_tensor(source)}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    synthetic.write_dataset(root, 8, 5, 32, 3, videos_per_id=2, test_fraction=0.5,
                            world="heads")  # fmt: skip
    return root


def test_copying_the_source_scores_exactly_the_no_motion_baseline(world):
    clips = heads_scores.world_clips(world, "test")
    assert [identity for identity, _, _ in clips] == ["id0002"] * 2 + ["id0003"] * 2
    model, baseline = heads_scores.reconstruction_scores(_CopySource(32), clips)
    assert model == pytest.approx(baseline) and baseline > 0.005
    model, baseline = heads_scores.animation_scores(_CopySource(32), clips)
    assert model == pytest.approx(baseline) and baseline > 0.005


def test_cross_identity_pairs_never_pair_an_identity_with_itself(world):
    clips = heads_scores.world_clips(world, "test")
    pairs = heads_scores.cross_identity_pairs(clips)
    looks = {id(look): identity for identity, look, _ in clips}
    for (look, _), (driver_look, _) in pairs:
        assert looks[id(look)] != looks[id(driver_look)]
    drivers = [id(driver_clip) for _, (_, driver_clip) in pairs]
    assert sorted(drivers) == sorted(id(clip) for _, _, clip in clips)


def test_animation_truth_is_the_source_identity_in_the_driver_motion(world):
    (_, look, clip), (_, driver_look, driver_clip) = heads_scores.world_clips(
        world, "test"
    )[1:3]
    truth = heads_scores.frames_of(
        look, synthetic_heads.retarget(driver_clip, clip), 32
    )
    own_first = heads_scores.frames_of(look, clip, 32)[0]
    np.testing.assert_array_equal(truth[0], own_first)


def test_linear_keypoints_regress_to_zero_error_and_constant_ones_do_not():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 6))
    mixing = rng.normal(size=(6, 4))
    y = x @ mixing + 0.1
    weights = heads_scores._ridge_fit(x, y)
    error = heads_scores._pixel_error(heads_scores._with_bias(x) @ weights, y, 64)
    assert error < 0.01  # pixels: the ridge term barely shrinks the fit
    constant = heads_scores._ridge_fit(np.zeros_like(x), y)
    no_info = heads_scores._pixel_error(
        heads_scores._with_bias(np.zeros_like(x)) @ constant, y, 64
    )
    assert no_info > 20 * error


def test_a_world_of_ellipses_is_refused(tmp_path):
    synthetic.write_dataset(tmp_path / "e", 2, 2, 32, 0)
    with pytest.raises(ValueError, match="ground-truth scores need a 'heads' world"):
        heads_scores.world_clips(tmp_path / "e", "test")
