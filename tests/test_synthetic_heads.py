"""Tests for the cartoon-heads world: determinism, ground truth, split, retargeting."""

import dataclasses
import math

import numpy as np
import pytest

from fomm_tf import synthetic, synthetic_heads, video_io
from fomm_tf.synthetic_heads import LANDMARKS, Pose


def _look_and_clip(seed, frames=12):
    return synthetic_heads.identity_clip(np.random.SeedSequence(seed), 0, frames)


def test_same_seed_same_frames_other_seed_other_frames():
    first = synthetic_heads.render_clip(*_look_and_clip(1), 32)
    again = synthetic_heads.render_clip(*_look_and_clip(1), 32)
    other = synthetic_heads.render_clip(*_look_and_clip(2), 32)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other).mean() > 10
    assert first.shape == (12, 32, 32, 3) and first.dtype == np.uint8


def test_clip_starts_neutral_at_its_first_pose_and_moves_visibly():
    look, clip = _look_and_clip(3, frames=24)
    assert clip.poses[0] == clip.first
    assert clip.first.mouth_open == 0.0 and clip.first.eyes_open == 1.0
    frames = synthetic_heads.render_clip(look, clip, 64).astype(np.float32) / 255
    # Copying frame 0 is clearly wrong: the no-motion L1 of the bundled world is
    # about 0.04 (heads cover half of the frame and move by up to 15% of it).
    assert np.abs(frames - frames[:1]).mean() > 0.015
    params = synthetic_heads.pose_parameters(clip)
    assert params.shape == (24, 6)
    assert params[:, 4].max() > 0.5  # the mouth opens


def test_landmarks_follow_the_pose_in_the_keypoint_convention():
    look, clip = _look_and_clip(4)
    size = 64
    pose = Pose(centre=(0.25, 0.75), angle=math.pi / 2, scale=1.0, mouth_open=0.0,
                eyes_open=1.0)  # fmt: skip
    moved = dataclasses.replace(clip, poses=(pose,))
    points = synthetic_heads.landmarks(look, moved, size)[0]
    assert points.shape == (len(LANDMARKS), 2)
    nose = points[LANDMARKS.index("nose")]
    # Canonical nose (0, 0.03) turned by +90 degrees: (-0.03, 0) from the centre.
    fraction = np.array([0.25 - 0.03, 0.75])
    pixel = fraction * size - 0.5  # pixel centres at (i + 0.5) / size
    np.testing.assert_allclose(nose, pixel * 2 / (size - 1) - 1, atol=1e-6)


def test_pupils_are_drawn_where_the_eye_landmarks_are():
    look, clip = _look_and_clip(5)
    frame = synthetic_heads.render_clip(look, clip, 64)[0].astype(np.float32)
    points = synthetic_heads.landmarks(look, clip, 64)[0]
    darkness = -frame.sum(-1)
    for name in ("left_eye", "right_eye"):
        x, y = ((points[LANDMARKS.index(name)] + 1) / 2 * 63).round().astype(int)
        patch = darkness[y - 1 : y + 2, x - 1 : x + 2]
        assert patch.max() > np.percentile(darkness, 97), name


def test_retarget_keeps_the_target_start_and_the_driver_motion():
    look_a, clip_a = _look_and_clip(6)
    _, clip_b = _look_and_clip(7)
    moved = synthetic_heads.retarget(clip_b, clip_a)
    assert moved.poses[0] == clip_a.first
    assert moved.background is clip_a.background
    first_a = synthetic_heads.render_clip(look_a, clip_a, 32)[0]
    np.testing.assert_array_equal(
        synthetic_heads.render_clip(look_a, moved, 32)[0], first_a
    )
    for pose_b, pose in zip(clip_b.poses, moved.poses, strict=True):
        assert pose.angle - clip_a.first.angle == pytest.approx(
            pose_b.angle - clip_b.first.angle
        )
        assert pose.mouth_open == pose_b.mouth_open
    same = synthetic_heads.retarget(clip_a, clip_a)
    for pose, original in zip(same.poses, clip_a.poses, strict=True):
        np.testing.assert_allclose(pose.centre, original.centre, atol=1e-12)
        assert pose.scale == pytest.approx(original.scale)


def test_heads_dataset_splits_identities_and_records_its_world(tmp_path):
    out = tmp_path / "heads"
    synthetic.write_dataset(out, 8, 4, 32, 9, videos_per_id=2, test_fraction=0.25,
                            world="heads")  # fmt: skip
    world = synthetic.read_world(out)
    assert world == {
        "world": "heads", "num_videos": 8, "num_frames": 4, "size": 32, "seed": 9,
        "videos_per_id": 2, "test_fraction": 0.25,
    }  # fmt: skip
    specs = synthetic.clip_specs(8, 2, 0.25, 9)
    test_ids = {s.name.split("#")[0] for s in specs if s.split == "test"}
    train_ids = {s.name.split("#")[0] for s in specs if s.split == "train"}
    assert test_ids == {"id0003"} and not test_ids & train_ids
    written = sorted(p.name for p in (out / "test").iterdir())
    assert written == ["id0003#00", "id0003#01"]
    frames = np.stack(list(video_io.iter_frames(out / "test" / "id0003#01")))
    expected = synthetic_heads.render_clip(
        *synthetic_heads.identity_clip(specs[7].id_seed, 1, 4), 32
    )
    np.testing.assert_array_equal(video_io.to_uint8(frames), expected)


def test_unknown_world_and_missing_world_file_are_one_line_errors(tmp_path):
    with pytest.raises(
        ValueError, match=r"world must be one of \('ellipses', 'heads'\)"
    ):
        synthetic.write_dataset(tmp_path / "x", 2, 2, 32, 0, world="faces")
    with pytest.raises(ValueError, match="not a synthetic dataset's world file"):
        synthetic.read_world(tmp_path)
