"""Videos on disk in the official FOMM dataset layout (official ``frames_dataset.py``).

A dataset root holds ``train/`` and ``test/`` folders; without them the videos
directly under the root are split 80/20 (``video_io.list_videos``, the one
split rule of training and evaluation). A video is

* a folder of frame images (sorted by file name),
* an ``.mp4`` / ``.mov`` / ``.gif`` file, or
* a ``.png`` / ``.jpg`` strip: one image holding the frames side by side.

Every reader returns float32 RGB in [0, 1] at ``frame_shape`` (H, W, 3). Unlike
the official code, frames of another size are resized (``video_io.fit_frame``)
instead of rejected. Every format is decoded by ``video_io.iter_frames``, the
one reader.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from fomm_tf import video_io
from fomm_tf.errors import VideoReadError, one_line


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


def _check_frame_shape(frame_shape: Sequence[int]) -> None:
    """Only RGB frames are supported (the models take 3 channels)."""
    if len(frame_shape) != 3 or frame_shape[2] != 3:
        raise ValueError(f"frame_shape must be (H, W, 3), got {tuple(frame_shape)}")


def _decode(path: Path, frame_shape: Sequence[int]) -> list[np.ndarray]:
    """All frames as decoded (uint8 or float RGB, any size), not yet fitted."""
    frames = list(video_io.iter_frames(path, frame_width=int(frame_shape[1])))
    if not frames:
        raise VideoReadError(f"{path}: holds no frames")
    return frames


def _frame_files(folder: Path) -> list[str]:
    """Image files of a frame folder, in natural name order."""
    files = video_io.frame_files(folder)
    if not files:
        raise VideoReadError(f"{folder}: folder holds no frame images")
    return files


def _fit(frame: np.ndarray, frame_shape: Sequence[int]) -> np.ndarray:
    """One frame as float32 (H, W, 3) in [0, 1], resized if needed."""
    return video_io.fit_frame(frame, frame_shape).astype(np.float32, copy=False)
