"""Representative frames: synthetic smooth blobs or frames read from user data."""

from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np

from fomm_tf.errors import ExportError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def synthetic_frames(count, height, width, seed=0):
    """(count, H, W, 3) float32 in [0, 1]: sinusoid background plus coloured
    gaussian blobs that move and grow across the frames (like the fixtures')."""
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(
        np.linspace(-1, 1, height), np.linspace(-1, 1, width), indexing="ij"
    )
    phase = rng.uniform(0, 2 * np.pi, 3)
    background = 0.35 + 0.15 * np.sin(3 * xs[..., None] + 2 * ys[..., None] + phase)
    blobs = [
        (
            rng.uniform(-0.5, 0.5, 2),
            rng.uniform(-0.3, 0.3, 2),
            rng.uniform(0.15, 0.3),
            rng.uniform(0, 1, 3),
        )
        for _ in range(4)
    ]
    frames = []
    for t in np.linspace(0.0, 1.0, count):
        frame = background.copy()
        for centre, velocity, radius, colour in blobs:
            cx, cy = centre + t * velocity
            sigma = radius * (1.0 + 0.3 * t)
            weight = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
            frame = frame * (1 - weight[..., None]) + weight[..., None] * colour
        frames.append(frame)
    return np.clip(np.stack(frames), 0.0, 1.0).astype(np.float32)


def load_frames(path, count, height, width):
    """Up to ``count`` frames of a video file or an image folder, resized, [0, 1]."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"calibration data {path} does not exist")
    try:
        raw = _read(path, count)
    except (OSError, ValueError, RuntimeError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExportError(f"cannot read calibration data {path}: {message}") from None
    if not raw:
        raise ExportError(f"calibration data {path} holds no frames")
    resized = [
        cv2.resize(_rgb(frame), (width, height), interpolation=cv2.INTER_AREA)
        for frame in raw
    ]
    return (np.stack(resized).astype(np.float32) / 255.0).clip(0.0, 1.0)


def _read(path, count):
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return [iio.imread(p) for p in files[:count]]
    frames = []
    for frame in iio.imiter(path):
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def _rgb(frame):
    """uint8 (H, W, 3) from gray, RGB or RGBA."""
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=-1)
    return frame[..., :3].astype(np.uint8)
