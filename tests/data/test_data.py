"""Tests for fomm_tf.data: formats, splits, augmentations, sampling, pipeline."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

import fomm_tf
from fomm_tf import data
from fomm_tf.config import (
    AugmentationParams,
    CropParams,
    FlipParams,
    JitterParams,
    ResizeParams,
    RotationParams,
)
from fomm_tf.data.augmentation import random_crop, random_rotation
from fomm_tf.data.pair_sampler import PairSampler
from tests.harness import CONFIGS

SIZE = 16
SHAPE = (SIZE, SIZE, 3)


def _frames(num_frames: int, size: int = SIZE, seed: int = 0) -> np.ndarray:
    """uint8 (T, S, S, 3) frames whose frame t has a mean level that grows with t."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 40, (num_frames, size, size, 3))
    level = (np.arange(num_frames) * 200 // max(num_frames - 1, 1))[:, None, None, None]
    return (base + level).astype(np.uint8)


def _write_folder(path: Path, frames: np.ndarray) -> Path:
    path.mkdir(parents=True)
    for index, frame in enumerate(frames):
        cv2.imwrite(str(path / f"{index:03d}.png"), frame[..., ::-1])
    return path


def _write_solid_folder(path: Path, value: int, num_frames: int = 3) -> Path:
    """A video whose every pixel is ``value``: identifies the video in a frame."""
    return _write_folder(path, np.full((num_frames, SIZE, SIZE, 3), value, np.uint8))


def _config(
    root: Path | None = None,
    batch_size: int = 2,
    num_repeats: int = 1,
    id_sampling: bool = False,
    augmentation: AugmentationParams | None = None,
):
    cfg = fomm_tf.load_config(CONFIGS / "vox-256.yaml")
    dataset = dataclasses.replace(
        cfg.dataset_params,
        root_dir=None if root is None else str(root),
        frame_shape=SHAPE,
        id_sampling=id_sampling,
        augmentation_params=augmentation or AugmentationParams(),
    )
    train = dataclasses.replace(
        cfg.train_params, batch_size=batch_size, num_repeats=num_repeats
    )
    return dataclasses.replace(cfg, dataset_params=dataset, train_params=train)


def _batches(dataset: tf.data.Dataset) -> list[dict]:
    return list(dataset.as_numpy_iterator())


# ----------------------------------------------------------------------------
# Formats
# ----------------------------------------------------------------------------


def test_folder_reads_exact_frames(tmp_path):
    frames = _frames(5)
    video = data.read_video(_write_folder(tmp_path / "v", frames), SHAPE)
    assert video.shape == (5, SIZE, SIZE, 3) and video.dtype == np.float32
    np.testing.assert_allclose(video, frames / 255.0, atol=1e-6)


def test_strip_reads_frames_side_by_side(tmp_path):
    frames = _frames(4)
    strip = np.concatenate(list(frames), axis=1)  # (S, 4 * S, 3)
    cv2.imwrite(str(tmp_path / "strip.png"), strip[..., ::-1])
    video = data.read_video(tmp_path / "strip.png", SHAPE)
    assert video.shape == (4, SIZE, SIZE, 3)
    np.testing.assert_allclose(video, frames / 255.0, atol=1e-6)


def test_strip_of_wrong_width_is_an_error(tmp_path):
    cv2.imwrite(str(tmp_path / "bad.png"), np.zeros((SIZE, SIZE * 2 + 3, 3), np.uint8))
    with pytest.raises(data.VideoReadError, match="bad.png.*not a multiple"):
        data.read_video(tmp_path / "bad.png", SHAPE)


def test_mp4_reads_all_frames_close_to_the_source(tmp_path):
    frames = _frames(6, size=32)
    with fomm_tf.video_io.VideoWriter(tmp_path / "clip.mp4", fps=25) as writer:
        writer.write(frames)
    video = data.read_video(tmp_path / "clip.mp4", (32, 32, 3))
    assert video.shape == (6, 32, 32, 3)
    assert 0.0 <= video.min() and video.max() <= 1.0
    # lossy codec: per-frame means (which grow with t) must survive
    means = video.mean(axis=(1, 2, 3))
    np.testing.assert_allclose(means, frames.mean(axis=(1, 2, 3)) / 255.0, atol=0.03)


def test_gif_reads_frames_and_resizes_to_frame_shape(tmp_path):
    levels = np.array([0, 85, 170, 255], np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (4, 32, 32, 3)).copy()
    iio.imwrite(tmp_path / "clip.gif", frames, extension=".gif")
    video = data.read_video(tmp_path / "clip.gif", SHAPE)
    assert video.shape == (4, SIZE, SIZE, 3)
    np.testing.assert_allclose(video[:, 0, 0, 0], levels / 255.0, atol=1e-6)


def test_unknown_or_missing_video_is_a_read_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(data.VideoReadError, match="notes.txt"):
        data.read_video(tmp_path / "notes.txt", SHAPE)
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(data.VideoReadError, match="broken.mp4"):
        data.read_video(tmp_path / "broken.mp4", SHAPE)


# ----------------------------------------------------------------------------
# Splits
# ----------------------------------------------------------------------------


def test_predefined_split_lists_each_folder(tmp_path):
    _write_solid_folder(tmp_path / "train" / "b", 1)
    _write_solid_folder(tmp_path / "train" / "a", 2)
    _write_solid_folder(tmp_path / "test" / "c", 3)
    (tmp_path / "train" / "readme.txt").write_text("not a video")
    assert [p.name for p in data.list_videos(tmp_path, "train")] == ["a", "b"]
    assert [p.name for p in data.list_videos(tmp_path, "test")] == ["c"]


def test_random_split_is_80_20_disjoint_and_deterministic(tmp_path):
    for index in range(10):
        _write_solid_folder(tmp_path / f"v{index}", index)
    train = data.list_videos(tmp_path, "train")
    test = data.list_videos(tmp_path, "test")
    assert (len(train), len(test)) == (8, 2)
    assert {p.name for p in train} | {p.name for p in test} == {
        f"v{i}" for i in range(10)
    }
    assert data.list_videos(tmp_path, "test") == test
    with pytest.raises(ValueError, match="split"):
        data.list_videos(tmp_path, "val")


# ----------------------------------------------------------------------------
# Augmentations
# ----------------------------------------------------------------------------


def _augment(params: AugmentationParams, pair: np.ndarray, seed: int) -> np.ndarray:
    augmentation = data.PairAugmentation(params, pair.shape[1:])
    return augmentation(tf.constant(pair), tf.constant([seed, 7])).numpy()


def _asymmetric_pair() -> np.ndarray:
    """Two different frames with no mirror or time symmetry."""
    return (_frames(2) / 255.0).astype(np.float32)


def test_horizontal_flip_flips_both_frames_or_none():
    pair = _asymmetric_pair()
    params = AugmentationParams(flip_param=FlipParams(horizontal_flip=True))
    flipped = 0
    for seed in range(20):
        out = _augment(params, pair, seed)
        if np.array_equal(out, pair[:, :, ::-1]):
            flipped += 1
        else:
            np.testing.assert_array_equal(out, pair)
    assert 4 <= flipped <= 16


def test_time_flip_swaps_the_frames_or_keeps_them():
    pair = _asymmetric_pair()
    params = AugmentationParams(flip_param=FlipParams(time_flip=True))
    outcomes = set()
    for seed in range(20):
        out = _augment(params, pair, seed)
        if np.array_equal(out, pair[::-1]):
            outcomes.add("swapped")
        else:
            np.testing.assert_array_equal(out, pair)
            outcomes.add("kept")
    assert outcomes == {"swapped", "kept"}


def test_time_and_horizontal_flip_never_combine_as_official():
    pair = _asymmetric_pair()
    params = AugmentationParams(
        flip_param=FlipParams(horizontal_flip=True, time_flip=True)
    )
    candidates = {
        "none": pair,
        "time": pair[::-1],
        "horizontal": pair[:, :, ::-1],
        "both": pair[::-1, :, ::-1],
    }
    seen = []
    for seed in range(40):
        out = _augment(params, pair, seed)
        seen += [name for name, c in candidates.items() if np.array_equal(out, c)]
    assert len(seen) == 40
    assert set(seen) == {"none", "time", "horizontal"}


def test_rotation_by_90_degrees_is_counter_clockwise():
    pair = _asymmetric_pair()
    rotated = random_rotation(tf.constant(pair), tf.constant([1, 2]), (90.0, 90.0))
    np.testing.assert_allclose(rotated, np.rot90(pair, axes=(1, 2)), atol=1e-5)


def test_crop_larger_than_the_frame_pads_edges_around_it():
    pair = _asymmetric_pair()
    out = random_crop(tf.constant(pair), tf.constant([3, 4]), (SIZE + 2, SIZE + 2))
    out = out.numpy()
    np.testing.assert_array_equal(out[:, 1:-1, 1:-1], pair)
    np.testing.assert_array_equal(out[:, 0, 1:-1], pair[:, 0])  # edge padding


def test_crop_is_the_same_window_of_both_frames():
    pair = _asymmetric_pair()
    out = random_crop(tf.constant(pair), tf.constant([3, 4]), (8, 8)).numpy()
    windows = [
        (y, x)
        for y in range(SIZE - 7)
        for x in range(SIZE - 7)
        if np.array_equal(out, pair[:, y : y + 8, x : x + 8])
    ]
    assert len(windows) == 1


def test_mgif_set_keeps_shape_and_range():
    pair = _asymmetric_pair()
    params = AugmentationParams(
        flip_param=FlipParams(horizontal_flip=True, time_flip=True),
        rotation_param=RotationParams(degrees=30.0),
        resize_param=ResizeParams(ratio=(0.7, 1.3)),
        crop_param=CropParams(size=(SIZE, SIZE)),
        jitter_param=JitterParams(hue=0.5),
    )
    for seed in range(5):
        out = _augment(params, pair, seed)
        assert out.shape == pair.shape
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_resize_without_crop_returns_frame_shape():
    params = AugmentationParams(resize_param=ResizeParams(ratio=(0.5, 0.6)))
    out = _augment(params, _asymmetric_pair(), 0)
    assert out.shape == (2, SIZE, SIZE, 3)


def test_jitter_uses_the_same_parameters_for_both_frames():
    frame = _asymmetric_pair()[:1]
    pair = np.concatenate([frame, frame])
    params = AugmentationParams(
        jitter_param=JitterParams(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.2)
    )
    out = _augment(params, pair, 5)
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(out[0], out[1])
    assert np.abs(out - pair).mean() > 1e-3


def test_brightness_jitter_scales_by_a_factor_in_range():
    pair = (_asymmetric_pair() * 0.5).astype(np.float32)  # no clipping at 1.3x
    params = AugmentationParams(jitter_param=JitterParams(brightness=0.3))
    out = _augment(params, pair, 11)
    factor = out.sum() / pair.sum()
    assert 0.7 <= factor <= 1.3
    np.testing.assert_allclose(out, pair * factor, atol=1e-5)


# ----------------------------------------------------------------------------
# Sampling and the pipeline
# ----------------------------------------------------------------------------


def test_pairs_are_in_time_order(tmp_path):
    video = _write_folder(tmp_path / "v", _frames(8))
    sampler = PairSampler([video], SHAPE, id_sampling=False)
    for seed in range(10):
        source, driving = sampler.sample(0, [seed, 1])
        assert source.mean() <= driving.mean()


def test_id_sampling_groups_videos_by_name_before_hash(tmp_path):
    videos = [
        _write_solid_folder(tmp_path / "alice#1", 10),
        _write_solid_folder(tmp_path / "alice#2", 20),
        _write_solid_folder(tmp_path / "bob#1", 30),
    ]
    sampler = PairSampler(videos, SHAPE, id_sampling=True)
    assert len(sampler) == 2
    alice = {round(sampler.sample(0, [s, 0])[0, 0, 0, 0] * 255) for s in range(20)}
    bob = {round(sampler.sample(1, [s, 0])[0, 0, 0, 0] * 255) for s in range(5)}
    assert alice == {10, 20} and bob == {30}


def test_train_dataset_batches_shapes_and_epoch_length(tmp_path):
    for index in range(5):
        _write_folder(tmp_path / "train" / f"v{index}", _frames(4, seed=index))
    (tmp_path / "test").mkdir()
    cfg = _config(tmp_path, batch_size=2, num_repeats=3)
    assert data.steps_per_epoch(cfg) == 7  # 5 videos x 3 repeats // 2
    batches = _batches(data.make_train_dataset(cfg, seed=0, num_epochs=1))
    assert len(batches) == 7
    for batch in batches:
        assert set(batch) == {"source", "driving"}
        assert batch["source"].shape == (2, SIZE, SIZE, 3)
        assert batch["driving"].dtype == np.float32
        assert 0.0 <= batch["source"].min() and batch["source"].max() <= 1.0


def test_id_sampling_epoch_has_one_item_per_identity(tmp_path):
    for name, value in [("a#1", 10), ("a#2", 20), ("b#1", 30), ("c#1", 40)]:
        _write_solid_folder(tmp_path / "train" / name, value)
    (tmp_path / "test").mkdir()
    cfg = _config(tmp_path, batch_size=1, num_repeats=2, id_sampling=True)
    assert data.steps_per_epoch(cfg) == 6
    batches = _batches(data.make_train_dataset(cfg, seed=1, num_epochs=1))
    levels = [round(b["source"][0, 0, 0, 0] * 255) for b in batches]
    assert sorted(level // 30 for level in levels) == [0, 0, 1, 1, 1, 1]


@pytest.mark.slow
def test_seeded_stream_is_reproducible_and_restartable(tmp_path):
    for index in range(4):
        _write_folder(tmp_path / "train" / f"v{index}", _frames(6, seed=index))
    (tmp_path / "test").mkdir()
    jitter = AugmentationParams(
        flip_param=FlipParams(horizontal_flip=True, time_flip=True),
        jitter_param=JitterParams(
            brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1
        ),
    )
    cfg = _config(tmp_path, batch_size=2, num_repeats=2, augmentation=jitter)
    first = _batches(data.make_train_dataset(cfg, seed=5, num_epochs=2))
    again = _batches(data.make_train_dataset(cfg, seed=5, num_epochs=2))
    other = _batches(data.make_train_dataset(cfg, seed=6, num_epochs=2))
    resumed = _batches(data.make_train_dataset(cfg, seed=5, start_step=5, num_epochs=2))
    assert len(first) == 8 and len(resumed) == 3
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a["source"], b["source"])
        np.testing.assert_array_equal(a["driving"], b["driving"])
    for a, b in zip(first[5:], resumed, strict=True):
        np.testing.assert_array_equal(a["driving"], b["driving"])
    assert any(
        not np.array_equal(a["source"], b["source"])
        for a, b in zip(first, other, strict=True)
    )
    # the two epochs differ (fresh order and augmentation per epoch)
    assert any(
        not np.array_equal(a["source"], b["source"])
        for a, b in zip(first[:4], first[4:], strict=True)
    )


def test_unreadable_video_is_logged_by_name_and_skipped(tmp_path, caplog):
    _write_solid_folder(tmp_path / "train" / "good", 100)
    (tmp_path / "train" / "broken.mp4").write_bytes(b"\x00garbage")
    (tmp_path / "train" / "empty").mkdir()
    (tmp_path / "test").mkdir()
    cfg = _config(tmp_path, batch_size=3, num_repeats=2)
    with caplog.at_level(logging.WARNING):
        batches = _batches(data.make_train_dataset(cfg, seed=0, num_epochs=1))
    assert len(batches) == 2  # the epoch keeps its length
    for batch in batches:
        np.testing.assert_allclose(batch["source"], 100 / 255.0, atol=1e-6)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "broken.mp4" in messages and "empty" in messages


def test_too_few_videos_for_a_batch_is_a_clear_error(tmp_path):
    _write_solid_folder(tmp_path / "train" / "only", 1)
    (tmp_path / "test").mkdir()
    with pytest.raises(ValueError, match="cannot fill a batch of 4"):
        data.make_train_dataset(_config(tmp_path, batch_size=4), seed=0)
    with pytest.raises(ValueError, match="no dataset root"):
        data.make_train_dataset(_config(None), seed=0)


def test_video_dataset_yields_whole_test_videos_and_skips_bad_ones(tmp_path, caplog):
    (tmp_path / "train").mkdir()
    _write_folder(tmp_path / "test" / "clip", _frames(5))
    (tmp_path / "test" / "zbroken.gif").write_bytes(b"GIF89a")
    with caplog.at_level(logging.WARNING):
        videos = list(data.make_video_dataset(_config(tmp_path)).as_numpy_iterator())
    assert [v["name"] for v in videos] == [b"clip"]
    assert videos[0]["video"].shape == (5, SIZE, SIZE, 3)
    assert "zbroken.gif" in caplog.text


def test_animation_pairs_random_and_from_csv(tmp_path):
    videos = [tmp_path / f"v{i}" for i in range(5)] + [tmp_path / "v5.mp4"]
    pairs = data.animation_pairs(videos, number_of_pairs=4, seed=0)
    assert len(pairs) == len(set(pairs)) == 4
    assert all(d in videos[:4] and s in videos[:4] for d, s in pairs)
    assert pairs == data.animation_pairs(videos, number_of_pairs=4, seed=0)
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text(
        "distance,source,driving,frame\n0,v1,v2,0\n0,x,v3,0\n0,v5,v0,0\n"
    )
    listed = data.animation_pairs(videos, 10, pairs_list=csv_path)
    assert listed == [(videos[2], videos[1]), (videos[0], videos[5])]
    assert data.animation_pairs(videos, 1, pairs_list=csv_path) == listed[:1]
