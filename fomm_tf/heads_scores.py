"""Scores against the cartoon-heads world's ground truth (:mod:`synthetic_heads`).

The paper can only score reconstruction; the renderer knows the truth, so:

* reconstruction L1 on held-out identities: source = frame 0, every frame
  driving, absolute keypoints (official ``reconstruction.py``);
* cross-identity animation L1: held-out identity A's first frame animated by
  another held-out identity's clip B in relative mode (relative movement and
  jacobians, no scale adaptation), compared with the renderer's frames of A
  performing B's motion from A's own first pose (:func:`retarget`);
* keypoint quality, the standard protocol for unsupervised keypoints (Thewlis
  et al. 2017, Zhang et al. 2018): a linear regressor (with bias) from the
  detected keypoints to the named landmarks, fitted on training identities and
  evaluated on held-out ones; mean landmark distance in pixels.

Each score comes with its baseline: the no-motion prediction (the source frame
copied) for the L1 scores, the training mean landmark layout for keypoints.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from fomm_tf.inference.keypoint_normalization import normalize_kp
from fomm_tf.synthetic import clip_specs, read_world
from fomm_tf.synthetic_heads import identity_clip, landmarks, render_clip, retarget

TRAIN_CLIPS_FOR_REGRESSION = 100  # training clips the regressor is fitted on
REGRESSION_FRAME_STRIDE = 4  # every 4th frame of those clips
RIDGE = 1e-6  # per sample: keeps the fit well posed when keypoints collapse


def world_clips(root, split):
    """[(identity, look, clip)] of ``split`` in a heads dataset written by
    :func:`fomm_tf.synthetic.write_dataset` (read from its ``world.json``)."""
    world = read_world(root)
    if world.get("world") != "heads":
        raise ValueError(f"{root}: ground-truth scores need a 'heads' world")
    specs = clip_specs(
        world["num_videos"], world["videos_per_id"], world["test_fraction"],
        world["seed"],
    )  # fmt: skip
    return [
        (spec.name.split("#")[0], *identity_clip(
            spec.id_seed, spec.clip_index, world["num_frames"]
        ))
        for spec in specs
        if spec.split == split
    ]  # fmt: skip


def frames_of(look, clip, size):
    """(T, S, S, 3) float32 frames in [0, 1]."""
    return render_clip(look, clip, size).astype(np.float32) / 255.0


def reconstruction_scores(models, clips):
    """(model L1, no-motion L1) over every frame of every clip."""
    scores = reconstruction_details(models, clips)
    return scores["model"], scores["no_motion"]


def reconstruction_details(models, clips):
    """Reconstruction L1 of the model, of the source warped by its dense flow
    alone (the generator's ``deformed``: motion without re-drawing) and of the
    no-motion prediction, over every frame of every clip."""
    size = models.config.dataset_params.frame_shape[0]
    errors = {"model": [], "warped_source": [], "no_motion": []}
    for _, look, clip in clips:
        frames = frames_of(look, clip, size)
        kp_driving = models.kp_detector(frames, training=False)
        kp_source = {key: value[:1] for key, value in kp_driving.items()}
        out = _generate(models, frames[0], kp_source, kp_driving)
        errors["model"].append(np.abs(out["prediction"] - frames).mean())
        errors["no_motion"].append(np.abs(frames[:1] - frames).mean())
        if "deformed" in out:
            errors["warped_source"].append(np.abs(out["deformed"] - frames).mean())
    return {name: float(np.mean(values)) for name, values in errors.items() if values}


def cross_identity_pairs(clips):
    """Each clip with a clip of another identity: an identity's n-th clip is
    driven by the n-th clip of other identities that follows it (cyclically),
    so every clip drives once when identities have equally many clips."""
    pairs = []
    for index, (identity, look, clip) in enumerate(clips):
        rank = sum(1 for other in clips[:index] if other[0] == identity)
        following = clips[index + 1 :] + clips[:index]
        drivers = [other for other in following if other[0] != identity]
        pairs.append(((look, clip), drivers[rank % len(drivers)][1:]))
    return pairs


def animation_scores(models, clips):
    """(model L1, no-motion L1) of cross-identity relative animation over
    :func:`cross_identity_pairs`."""
    size = models.config.dataset_params.frame_shape[0]
    model, baseline = [], []
    for (look, clip), (driver_look, driver_clip) in cross_identity_pairs(clips):
        driving = frames_of(driver_look, driver_clip, size)
        truth = frames_of(look, retarget(driver_clip, clip), size)
        source = truth[0]
        kp_source = models.kp_detector(source[None], training=False)
        kp_driving = models.kp_detector(driving, training=False)
        kp_norm = normalize_kp(
            _repeat(kp_source, len(driving)),
            kp_driving,
            _repeat({k: v[:1] for k, v in kp_driving.items()}, len(driving)),
            use_relative_movement=True,
            use_relative_jacobian=True,
            adapt_movement_scale=False,
        )
        predicted = _generate(models, source, kp_source, kp_norm)["prediction"]
        model.append(np.abs(predicted - truth).mean())
        baseline.append(np.abs(source[None] - truth).mean())
    return float(np.mean(model)), float(np.mean(baseline))


def keypoint_scores(models, train_clips, test_clips):
    """(regressed landmark error, mean-layout error), pixels at the frame size."""
    size = models.config.dataset_params.frame_shape[0]
    train_x, train_y = _keypoints_and_landmarks(
        models, train_clips[:TRAIN_CLIPS_FOR_REGRESSION], size, REGRESSION_FRAME_STRIDE
    )
    test_x, test_y = _keypoints_and_landmarks(models, test_clips, size, 1)
    weights = _ridge_fit(train_x, train_y)
    predicted = _with_bias(test_x) @ weights
    mean_layout = np.broadcast_to(train_y.mean(0), test_y.shape)
    return _pixel_error(predicted, test_y, size), _pixel_error(
        mean_layout, test_y, size
    )


def _keypoints_and_landmarks(models, clips, size, stride):
    """(N, 2K) detected keypoints and (N, 2L) landmarks, both in [-1, 1]."""
    features, targets = [], []
    for _, look, clip in clips:
        frames = frames_of(look, clip, size)[::stride]
        kp = models.kp_detector(frames, training=False)["value"].numpy()
        features.append(kp.reshape(len(frames), -1))
        truth = landmarks(look, clip, size)[::stride]
        targets.append(truth.reshape(len(frames), -1))
    return np.concatenate(features), np.concatenate(targets)


def _with_bias(x):
    return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)


def _ridge_fit(x, y):
    """Least squares ``[x, 1] @ W ~ y`` with a small ridge on ``W``."""
    design = _with_bias(x).astype(np.float64)
    gram = design.T @ design + RIDGE * len(design) * np.eye(design.shape[1])
    return np.linalg.solve(gram, design.T @ y)


def _pixel_error(predicted, truth, size):
    """Mean Euclidean landmark distance in pixels ([-1, 1] spans size - 1)."""
    difference = (predicted - truth).reshape(len(truth), -1, 2)
    return float(np.linalg.norm(difference, axis=-1).mean() * (size - 1) / 2)


def _repeat(kp, count):
    return {key: tf.repeat(value, count, axis=0) for key, value in kp.items()}


def _generate(models, source, kp_source, kp_driving):
    """Generator outputs of one source (its keypoints ``kp_source``, batch 1)
    for every driving keypoint set, as numpy (``prediction``: (T, H, W, 3))."""
    count = kp_driving["value"].shape[0]
    kp_source = _repeat(kp_source, count)  # (1, K, ...) -> (T, K, ...)
    sources = tf.repeat(tf.convert_to_tensor(source)[None], count, axis=0)
    out = models.generator(
        sources, kp_source=kp_source, kp_driving=kp_driving, training=False
    )
    return {key: value.numpy() for key, value in out.items()}
