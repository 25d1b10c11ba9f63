"""Representative frames: synthetic smooth blobs or frames read from user data
(through ``fomm_tf.video_io``, the one media module)."""

import itertools
from pathlib import Path

import numpy as np

from fomm_tf import video_io
from fomm_tf.errors import ExportError, one_line


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
        raw = list(itertools.islice(video_io.iter_frames(path), count))
    except (OSError, ValueError, RuntimeError) as error:
        raise ExportError(
            f"cannot read calibration data {path}: {one_line(error)}"
        ) from None
    if not raw:
        raise ExportError(f"calibration data {path} holds no frames")
    return np.stack([video_io.fit_frame(frame, (height, width)) for frame in raw])
