"""Videos on disk in the official FOMM dataset layout (official ``frames_dataset.py``).

A dataset root holds ``train/`` and ``test/`` folders; without them the videos
directly under the root are split 80/20 (see :func:`list_videos`). A video is

* a folder of frame images (sorted by file name),
* an ``.mp4`` / ``.mov`` / ``.gif`` file, or
* a ``.png`` / ``.jpg`` strip: one image holding the frames side by side.

Every reader returns float32 RGB in [0, 1] at ``frame_shape`` (H, W, 3). Unlike
the official code, frames of another size are resized (``video_io.fit_frame``)
instead of rejected. Images and strips are read by :mod:`fomm_tf.video_io`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np

from fomm_tf import video_io
from fomm_tf.errors import VideoReadError, one_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MOVIE_SUFFIXES = (".mp4", ".mov")
GIF_SUFFIXES = (".gif",)
VIDEO_SUFFIXES = IMAGE_SUFFIXES + MOVIE_SUFFIXES + GIF_SUFFIXES
SPLITS = ("train", "test")
TEST_FRACTION = 0.2  # official train_test_split(test_size=0.2)
SPLIT_SEED = 0  # official train_test_split(random_state=0)


def list_videos(root: str | os.PathLike[str], split: str) -> list[Path]:
    """Videos of ``split`` ('train' or 'test') under the dataset ``root``, sorted.

    With ``root/train`` or ``root/test`` present, ``split`` is that folder
    (official predefined split). Otherwise the videos under ``root`` are split
    80/20 by a seeded permutation (seed 0) of their sorted names: the official
    sklearn ``train_test_split(random_state=0, test_size=0.2)`` split, not the
    same videos but equally deterministic.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: dataset root is not a directory")
    if any((root / name).is_dir() for name in SPLITS):
        if not (root / split).is_dir():
            raise ValueError(f"{root}: has no {split}/ folder")
        return _video_entries(root / split)
    videos = _video_entries(root)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(videos))
    num_test = math.ceil(TEST_FRACTION * len(videos))
    chosen = order[:num_test] if split == "test" else order[num_test:]
    return sorted(videos[i] for i in chosen)


def video_id(path: Path) -> str:
    """Identity of a video: its name before the first '#' (official id_sampling)."""
    return path.name.split("#")[0]


def read_video(path: str | os.PathLike[str], frame_shape: Sequence[int]) -> np.ndarray:
    """All frames of the video at ``path``: (T, H, W, 3) float32 in [0, 1]."""
    path = Path(path)
    _check_frame_shape(frame_shape)
    with _as_read_error(path):
        frames = _decode(path, frame_shape)
        return np.stack([_fit(frame, frame_shape) for frame in frames])


def read_frame_pair(
    path: Path, frame_shape: Sequence[int], rng: np.random.Generator
) -> np.ndarray:
    """Two frames of a video, official train sampling: (2, H, W, 3) float32.

    Frame indices are ``np.sort(choice(num_frames, size=2, replace=True))``; a
    folder reads only those two frames, any other format decodes the whole
    video (as the official) but converts and resizes only the two.
    """
    path = Path(path)
    with _as_read_error(path):
        if path.is_dir():
            files = _frame_files(path)
            chosen = np.sort(rng.choice(len(files), size=2, replace=True))
            frames = [video_io.read_image(files[i]) for i in chosen]
        else:
            video = _decode(path, frame_shape)
            chosen = np.sort(rng.choice(len(video), size=2, replace=True))
            frames = [video[i] for i in chosen]
        return np.stack([_fit(frame, frame_shape) for frame in frames])


@contextlib.contextmanager
def _as_read_error(path: Path) -> Iterator[None]:
    """Turn any failure while decoding ``path`` into a VideoReadError naming it."""
    try:
        yield
    except VideoReadError:
        raise
    except video_io.MediaError as exc:  # its message already names the file
        raise VideoReadError(str(exc)) from exc
    except Exception as exc:  # any decoder failure means "unreadable"
        raise VideoReadError(f"{path}: {type(exc).__name__}: {one_line(exc)}") from exc


def _video_entries(folder: Path) -> list[Path]:
    """Folders and video files directly inside ``folder``, hidden ones left out."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() or entry.suffix.lower() in VIDEO_SUFFIXES:
            entries.append(entry)
    return entries


def _check_frame_shape(frame_shape: Sequence[int]) -> None:
    """Only RGB frames are supported (the models take 3 channels)."""
    if len(frame_shape) != 3 or frame_shape[2] != 3:
        raise ValueError(f"frame_shape must be (H, W, 3), got {tuple(frame_shape)}")


def _decode(path: Path, frame_shape: Sequence[int]) -> list[np.ndarray]:
    """All frames as decoded (uint8 or float RGB, any size), not yet fitted."""
    suffix = path.suffix.lower()
    if path.is_dir():
        return [video_io.read_image(f) for f in _frame_files(path)]
    if suffix in IMAGE_SUFFIXES:  # a strip of frames W wide (official read_video)
        return list(video_io.iter_frames(path, frame_width=int(frame_shape[1])))
    if suffix in MOVIE_SUFFIXES:
        return _read_movie(path)
    if suffix in GIF_SUFFIXES:
        return list(_read_gif(path))
    raise VideoReadError(f"{path}: unknown video format '{path.suffix}'")


def _frame_files(folder: Path) -> list[str]:
    """Image files of a frame folder, in natural name order."""
    files = video_io.frame_files(folder)
    if not files:
        raise VideoReadError(f"{folder}: folder holds no frame images")
    return files


def _fit(frame: np.ndarray, frame_shape: Sequence[int]) -> np.ndarray:
    """One frame as float32 (H, W, 3) in [0, 1], resized if needed."""
    return video_io.fit_frame(frame, frame_shape).astype(np.float32, copy=False)


def _read_movie(path: Path) -> list[np.ndarray]:
    """Decode an mp4/mov in-process with OpenCV's FFmpeg backend: uint8 RGB
    frames. (``video_io`` pipes through an ffmpeg process, ~9x slower for the
    short clips read at every training step.)"""
    if not path.is_file():
        raise VideoReadError(f"{path}: no such file")
    capture = cv2.VideoCapture(os.fspath(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise VideoReadError(f"{path}: no decodable frames")
    return frames


def _read_gif(path: Path) -> np.ndarray:
    """Decode a gif in-process with imageio: uint8 RGB (T, h, w, 3)."""
    video = np.asarray(iio.imread(path, index=None))
    if video.ndim == 3:  # (T, h, w) grey
        video = np.repeat(video[..., None], 3, axis=-1)
    if video.ndim != 4 or video.shape[0] == 0:
        raise VideoReadError(f"{path}: no decodable frames")
    return video[..., :3].astype(np.uint8)
