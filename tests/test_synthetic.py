"""Tests for fomm_tf.synthetic: layout, determinism, motion, CLI errors."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from fomm_tf import data, synthetic
from tests.harness import run_module


def _rngs(look: int, motion: int):
    return np.random.default_rng(look), np.random.default_rng(motion)


def test_layout_names_and_split(tmp_path):
    out = tmp_path / "synth"
    written = synthetic.write_dataset(out, 6, 4, 32, seed=1, videos_per_id=2)
    assert len(written) == 6 and all(path.exists() for path in written)
    train = data.list_videos(out, "train")
    test = data.list_videos(out, "test")
    assert [p.name for p in train] == [
        "id0000#00",
        "id0000#01",
        "id0001#00",
        "id0001#01",
    ]
    assert [p.name for p in test] == ["id0002#00", "id0002#01"]
    video = data.read_video(train[0], (32, 32, 3))
    assert video.shape == (4, 32, 32, 3)
    assert 0.0 <= video.min() and video.max() <= 1.0


def test_same_seed_same_bytes_other_seed_other_frames(tmp_path):
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        synthetic.write_dataset(tmp_path / name, 2, 3, 32, seed=seed)
    frame = "train/id0000#00/000001.png"
    assert (tmp_path / "a" / frame).read_bytes() == (
        tmp_path / "b" / frame
    ).read_bytes()
    assert (tmp_path / "a" / frame).read_bytes() != (
        tmp_path / "c" / frame
    ).read_bytes()


def test_mp4_format_is_readable(tmp_path):
    written = synthetic.write_dataset(tmp_path / "m", 2, 5, 32, 0, video_format="mp4")
    assert all(path.suffix == ".mp4" for path in written)
    assert data.read_video(written[0], (32, 32, 3)).shape == (5, 32, 32, 3)


def _blurred_step(num_frames: int) -> float:
    """Mean change between consecutive frames, textures blurred away."""
    clip = synthetic.render_clip(*_rngs(0, 1), num_frames=num_frames, size=48)
    assert clip.shape == (num_frames, 48, 48, 3) and clip.dtype == np.uint8
    blurred = np.stack(
        [cv2.GaussianBlur(f.astype(np.float32), (0, 0), 3) for f in clip]
    )
    return float(np.abs(blurred[1:] - blurred[:-1]).mean())


def test_motion_is_smooth_and_visible():
    coarse, fine = _blurred_step(20), _blurred_step(40)
    assert coarse > 0.3  # something moves every frame
    assert fine < 0.6 * coarse  # twice the frame rate, about half the change


def test_clips_of_one_identity_share_the_look():
    same_look = [synthetic.render_clip(*_rngs(7, m), 4, 48) for m in (1, 2)]
    other_look = synthetic.render_clip(*_rngs(8, 1), 4, 48)
    shared = np.mean(same_look[0][0] == same_look[1][0])
    unshared = np.mean(same_look[0][0] == other_look[0])
    assert not np.array_equal(same_look[0], same_look[1])  # motion differs
    assert shared > 0.3 and unshared < 0.05


def test_object_centres_stay_inside_the_frame():
    rng = np.random.default_rng(0)
    for _ in range(50):
        motion = synthetic._object_motion(rng)
        for t in np.linspace(0, 1, 11):
            centre, _, scale, _ = synthetic.pose(motion, t)
            assert np.all((centre > 0.1) & (centre < 0.9)) and 0.8 <= scale <= 1.2


def test_non_empty_output_is_refused_and_left_alone(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty directory"):
        synthetic.write_dataset(tmp_path, 1, 2, 32, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_argument_errors_name_the_problem(tmp_path):
    cases = [
        ((0, 2, 32, "png", 1), "num_videos must be >= 1"),
        ((1, 1, 32, "png", 1), "frames must be >= 2"),
        ((1, 2, 8, "png", 1), "size must be >= 16"),
        ((1, 2, 33, "mp4", 1), "even size"),
        ((1, 2, 32, "avi", 1), "format must be one of"),
        ((1, 2, 32, "png", 0), "videos_per_id must be >= 1"),
    ]
    for (num_videos, frames, size, video_format, per_id), message in cases:
        with pytest.raises(ValueError, match=message):
            synthetic.write_dataset(
                tmp_path / "o", num_videos, frames, size, 0, video_format, per_id
            )
    assert not (tmp_path / "o").exists()


run_cli = functools.partial(run_module, "fomm_tf.synthetic")


@pytest.mark.slow
def test_cli_writes_a_dataset_and_rejects_bad_input(tmp_path):
    good = run_cli(
        "--out",
        str(tmp_path / "o"),
        "--num_videos",
        "3",
        "--frames",
        "2",
        "--size",
        "16",
    )
    assert good.returncode == 0, good.stderr
    assert "wrote 3 videos" in good.stdout
    assert len(data.list_videos(tmp_path / "o", "train")) == 2
    bad = run_cli("--out", str(tmp_path / "o"), "--size", "8")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == "error: size must be >= 16, got 8"
    assert "Traceback" not in bad.stderr
