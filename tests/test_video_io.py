"""Image/video reading and atomic writing (fomm_tf.video_io); no model needed."""

import os

import cv2
import numpy as np
import pytest

from fomm_tf import video_io
from fomm_tf.video_io import MediaError
from tests.harness import (
    ffmpeg,
    leftovers,
    make_bad_videos,
    noise_frames,
    write_video,
)


def test_read_image_drops_alpha_and_expands_gray(tmp_path):
    rgb = noise_frames(1, 40, 60)[0]
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(tmp_path / "gray.png"), rgb[..., 0])
    image = video_io.read_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(video_io.to_uint8(image), rgb)
    gray = video_io.read_image(tmp_path / "gray.png")
    assert gray.shape == (40, 60, 3)
    np.testing.assert_array_equal(video_io.to_uint8(gray[..., 2]), rgb[..., 0])


def test_read_image_keeps_16_bit_precision(tmp_path):
    values = np.arange(0, 65536, 16, dtype=np.uint16)[:4096].reshape(64, 64)
    cv2.imwrite(str(tmp_path / "deep.png"), np.dstack([values] * 3))
    image = video_io.read_image(tmp_path / "deep.png")
    assert image.dtype == np.float32
    np.testing.assert_allclose(image[..., 0], values / 65535.0, atol=1e-6)


def test_read_image_webp_and_jpeg(tmp_path):
    rgb = noise_frames(1, 32, 48)[0]
    for name in ("a.webp", "a.jpg"):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        image = video_io.read_image(tmp_path / name)
        assert image.shape == (32, 48, 3)
        assert np.abs(image - rgb / 255.0).mean() < 0.05


@pytest.mark.parametrize("content", [b"", b"not an image"])
def test_read_image_unreadable(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(MediaError, match="not a readable image"):
        video_io.read_image(path)
    with pytest.raises(MediaError, match="no such file"):
        video_io.read_image(tmp_path / "missing.png")


def test_fit_frame_resizes_and_center_crops():
    image = np.zeros((40, 100, 3), np.uint8)
    image[:, 30:70] = 255  # the centred 40x40 square is white
    assert video_io.fit_frame(image, (16, 16, 3)).shape == (16, 16, 3)
    assert video_io.fit_frame(image, (16, 16, 3)).min() == 0.0
    np.testing.assert_allclose(video_io.fit_frame(image, (16, 16, 3), True), 1.0)


def test_png_folder_round_trip_is_lossless(tmp_path):
    frames = noise_frames(5, 24, 32)
    result = tmp_path / "frames"
    write_video(result, frames, fps=10)
    assert sorted(os.listdir(result))[0] == "000000.png"
    read = np.concatenate(
        [np.stack(c) for c in video_io.iter_video_frames(result, chunk_size=2)]
    )
    np.testing.assert_array_equal(video_io.to_uint8(read), frames)
    info = video_io.video_info(result)
    assert (info.frame_count, info.size, info.fps) == (5, (32, 24), 25.0)


def test_mp4_round_trip_keeps_fps_count_and_size(tmp_path):
    frames = noise_frames(7, 48, 64)
    path = write_video(tmp_path / "clip.mp4", frames, fps=15)
    info = video_io.video_info(path)
    assert (info.fps, info.frame_count, info.size, info.has_audio) == (
        15.0,
        7,
        (64, 48),
        False,
    )
    chunks = list(video_io.iter_video_frames(path, chunk_size=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    decoded = np.concatenate([np.stack(c) for c in chunks]).astype(float)
    assert np.abs(decoded - frames).mean() < 10.0  # yuv420p chroma of noise
    assert np.abs(decoded[1:] - frames[:-1]).mean() > 30.0  # order kept
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)


def test_png_strip_is_split_into_frames(tmp_path):
    frames = noise_frames(3, 16, 16)
    cv2.imwrite(str(tmp_path / "strip.png"), np.concatenate(list(frames), 1)[..., ::-1])
    read = list(video_io.iter_frames(tmp_path / "strip.png", frame_width=16))
    assert len(read) == 3
    np.testing.assert_array_equal(video_io.to_uint8(read[2]), frames[2])


def test_bad_videos_raise_one_line_errors(tmp_path):
    for name, message in make_bad_videos(tmp_path).items():
        with pytest.raises(MediaError, match=message) as caught:
            video_io.video_info(tmp_path / name)
        assert name in str(caught.value) and "\n" not in str(caught.value)


def test_writer_failure_keeps_existing_result(tmp_path):
    result = tmp_path / "result.mp4"
    result.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="boom"):
        with video_io.VideoWriter(result, fps=10) as writer:
            writer.write(noise_frames(2, 32, 32))
            raise RuntimeError("boom")
    assert result.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []
    with pytest.raises(MediaError, match="no frames"):
        with video_io.VideoWriter(result, fps=10):
            pass
    assert result.read_bytes() == b"previous result"
    write_video(result, noise_frames(2, 32, 32), fps=10)
    assert video_io.video_info(result).frame_count == 2
    assert leftovers(tmp_path) == []


def test_writer_refuses_existing_frame_folder_and_fills_an_empty_one(tmp_path):
    result = tmp_path / "frames"
    write_video(result, noise_frames(4, 16, 16), fps=10)
    before = {name: (result / name).read_bytes() for name in os.listdir(result)}
    with pytest.raises(MediaError, match="refusing to replace an existing non-empty"):
        write_video(result, noise_frames(2, 16, 16, seed=1), fps=10)
    assert {name: (result / name).read_bytes() for name in os.listdir(result)} == before
    empty = tmp_path / "empty"
    empty.mkdir()
    write_video(empty, noise_frames(2, 16, 16, seed=1), fps=10)
    assert sorted(os.listdir(empty)) == ["000000.png", "000001.png"]
    assert sorted(os.listdir(tmp_path)) == ["empty", "frames"]


def test_writer_rejects_missing_directory(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        video_io.VideoWriter(tmp_path / "missing" / "out.mp4", fps=10)


def test_audio_is_copied_when_present(tmp_path):
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-f", "lavfi", "-i",
        "sine=frequency=440", "-t", "1", "-pix_fmt", "yuv420p", "-shortest",
        str(tmp_path / "with_audio.mp4"),
    )  # fmt: skip
    assert video_io.has_audio(tmp_path / "with_audio.mp4")
    result = tmp_path / "out.mp4"
    with video_io.VideoWriter(result, 10, audio_from=tmp_path / "with_audio.mp4") as w:
        w.write(noise_frames(10, 64, 64))
    info = video_io.video_info(result)
    assert info.has_audio and info.frame_count == 10
    silent = write_video(tmp_path / "silent.mp4", noise_frames(3, 32, 32), fps=10)
    with video_io.VideoWriter(result, 10, audio_from=silent) as writer:
        writer.write(noise_frames(3, 64, 64))
    assert not video_io.video_info(result).has_audio
    assert leftovers(tmp_path) == []
