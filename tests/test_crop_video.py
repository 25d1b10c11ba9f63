"""Face-aware cropping (fomm_tf.crop_video) with a stand-in detector; the real
MTCNN check is skipped only when the optional ``mtcnn`` package is missing."""

import importlib.util

import numpy as np
import pytest

from fomm_tf import crop_video, video_io
from tests.harness import run_module

HAVE_MTCNN = importlib.util.find_spec("mtcnn") is not None


def test_square_crop_box_enlarges_like_official():
    # 40 wide, 80 high: width grows by 0.7 per side, height by the minimum 0.1
    assert crop_video.square_crop_box((40, 20, 80, 100), (200, 200)) == (
        12,
        108,
        12,
        108,
    )
    top, bottom, left, right = crop_video.square_crop_box((0, 0, 50, 50), (60, 100))
    assert (top, left) == (0, 0) and bottom - top == right - left == 55


def bright_square_detector(image):
    """Stand-in face detector: the bounding box of the bright pixels."""
    rows, cols = np.nonzero(image.mean(axis=-1) > 200)
    if rows.size == 0:
        return []
    return [(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)]


def test_crop_follows_the_face_track(tmp_path):
    frames = np.zeros((6, 120, 160, 3), np.uint8)
    for index, frame in enumerate(frames):
        frame[40:80, 60 + 4 * index : 100 + 4 * index] = 255  # the "face" drifts right
    video = tmp_path / "in"
    with video_io.VideoWriter(video, fps=12) as writer:
        writer.write(frames)
    output = tmp_path / "crop"
    box = crop_video.crop_video(video, output, bright_square_detector, image_size=32,
                                every=2)  # fmt: skip
    top, bottom, left, right = box
    assert bottom - top == right - left  # square
    assert left <= 60 and right >= 116 and top <= 40 and bottom >= 80  # whole track
    cropped = np.stack([video_io.read_image(p) for p in video_io.frame_files(output)])
    assert cropped.shape == (6, 32, 32, 3)
    assert cropped[0, 16, 12:16].min() > 0.9  # the face is in the crop


def test_no_face_is_an_error(tmp_path):
    video = tmp_path / "dark"
    with video_io.VideoWriter(video, fps=12) as writer:
        writer.write(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="no face found"):
        crop_video.crop_video(video, tmp_path / "out.mp4", bright_square_detector)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.skipif(HAVE_MTCNN, reason="mtcnn is installed")
def test_missing_mtcnn_gives_install_hint(tmp_path):
    done = run_module(
        "fomm_tf.crop_video",
        f"--input_video={tmp_path}",
        f"--output_video={tmp_path / 'o.mp4'}",
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"error: {crop_video.INSTALL_HINT}"


@pytest.mark.skipif(not HAVE_MTCNN, reason="optional mtcnn package not installed")
def test_mtcnn_detector_returns_boxes():
    detect = crop_video.mtcnn_detector()
    assert detect(np.zeros((120, 120, 3), np.uint8)) == []
