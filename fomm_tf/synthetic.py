"""Synthetic videos with known motion, in the official FOMM dataset layout.

Each clip shows one to three textured ellipses (stripes or smooth noise) over a
static textured background. Every object moves smoothly and analytically: its
centre follows a sinusoidal path, it rotates at a constant rate, its scale
oscillates and a sinusoidal warp of its own coordinates deforms it. Clips of one
identity (``videos_per_id``) share the look (background, shapes, textures) and
differ in motion, so ``id_sampling`` has something to group. Output::

    OUT/train/id0000#00/0000.png ...   (or OUT/train/id0000#00.mp4)
    OUT/test/...

Everything is a pure function of the seed. CLI::

    python -m fomm_tf.synthetic --out DIR --num_videos N --frames T --size S --seed X
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from absl import flags

from fomm_tf import synthetic_heads, video_io
from fomm_tf.cli import SEED_RANGE, define_float, errors_as_exit, run
from fomm_tf.output_paths import make_temp_dir

FORMATS = ("png", "mp4")
WORLDS = ("ellipses", "heads")
WORLD_FILE = "world.json"  # the writer's arguments: the dataset is a function of them
MIN_SIZE = 16
TEXTURE_SIZE = 64  # texture images of the objects, in canonical coordinates
EDGE_SOFTNESS = 1.0  # object edge ramp width in pixels (anti-aliasing)
MP4_FPS = 25


@dataclass(frozen=True)
class ObjectLook:
    """Appearance of one object: radii (fraction of the frame), texture (64x64x3)."""

    radii: tuple[float, float]
    texture: np.ndarray


@dataclass(frozen=True)
class ObjectMotion:
    """Motion of one object over normalised time t in [0, 1] (see :func:`pose`)."""

    centre: tuple[float, float]  # fraction of the frame, (x, y)
    amplitude: tuple[float, float]  # path amplitude, fraction of the frame
    phase: tuple[float, float]
    angle: float  # radians at t = 0
    spin: float  # radians per clip
    scale_swing: float  # relative scale amplitude
    warp: float  # deformation strength, canonical units
    warp_phase: float


def render_clip(
    look_rng: np.random.Generator,
    motion_rng: np.random.Generator,
    num_frames: int,
    size: int,
) -> np.ndarray:
    """One clip, (T, S, S, 3) uint8: look from ``look_rng``, motion from
    ``motion_rng``."""
    background = _texture(look_rng, size, stripe_weight=0.5)
    looks = [_object_look(look_rng) for _ in range(look_rng.integers(1, 4))]
    motions = [_object_motion(motion_rng) for _ in looks]
    times = np.linspace(0.0, 1.0, num_frames)
    frames = [_render_frame(background, looks, motions, t, size) for t in times]
    return np.stack(frames)


def pose(motion: ObjectMotion, t: float) -> tuple[np.ndarray, float, float, float]:
    """Centre (x, y) as a frame fraction, angle, scale, warp phase at time t."""
    wave = np.sin(2 * math.pi * t + np.asarray(motion.phase))
    centre = np.asarray(motion.centre) + np.asarray(motion.amplitude) * wave
    angle = motion.angle + motion.spin * t
    scale = 1.0 + motion.scale_swing * math.sin(2 * math.pi * t + motion.phase[0])
    return centre, angle, scale, motion.warp_phase + 2 * math.pi * t


def write_dataset(
    out: str | os.PathLike[str],
    num_videos: int,
    num_frames: int,
    size: int,
    seed: int,
    video_format: str = "png",
    videos_per_id: int = 1,
    test_fraction: float = 0.2,
    world: str = "ellipses",
) -> list[Path]:
    """Write ``num_videos`` clips under ``out`` (train/ and test/); return them.

    ``world``: ``ellipses`` (textured ellipses, this module) or ``heads``
    (cartoon heads with ground truth, :mod:`fomm_tf.synthetic_heads`). The
    arguments are recorded in ``out/world.json``.

    Identities are split, not clips: the last ``round(test_fraction * ids)``
    identities (at least one when there are two or more) go to test/. The whole
    tree is written beside ``out`` and moved into place at the end, so ``out``
    is either absent/empty (on error) or complete.
    """
    _check_arguments(num_videos, num_frames, size, video_format, videos_per_id, world)
    arguments = dict(
        world=world,
        num_videos=num_videos,
        num_frames=num_frames,
        size=size,
        seed=seed,
        videos_per_id=videos_per_id,
        test_fraction=test_fraction,
    )
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: output exists and is not an empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(make_temp_dir(out, "partial"))
    try:
        written = _write_clips(staging, video_format, **arguments)
        (staging / WORLD_FILE).write_text(json.dumps(arguments, indent=2) + "\n")
        os.replace(staging, out)  # replaces an empty folder in one step
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / path.relative_to(staging) for path in written]


def write_video(frames: np.ndarray, path: Path, video_format: str) -> Path:
    """Write uint8 (T, H, W, 3) as a PNG folder ``path`` or ``path.mp4`` (H.264)
    with :class:`fomm_tf.video_io.VideoWriter`; returns what was written."""
    target = path if video_format == "png" else path.with_name(path.name + ".mp4")
    with video_io.VideoWriter(target, fps=MP4_FPS) as writer:
        writer.write(frames)
    return target


def _check_arguments(
    num_videos: int,
    num_frames: int,
    size: int,
    video_format: str,
    per_id: int,
    world: str,
) -> None:
    """One-line errors for impossible requests."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, got {world!r}")
    if num_videos < 1:
        raise ValueError(f"num_videos must be >= 1, got {num_videos}")
    if num_frames < 2:
        raise ValueError(f"frames must be >= 2, got {num_frames}")
    if size < MIN_SIZE:
        raise ValueError(f"size must be >= {MIN_SIZE}, got {size}")
    if video_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {video_format!r}")
    if video_format == "mp4" and size % 2:
        raise ValueError(f"mp4 (H.264, yuv420p) needs an even size, got {size}")
    if per_id < 1:
        raise ValueError(f"videos_per_id must be >= 1, got {per_id}")


@dataclass(frozen=True)
class ClipSpec:
    """One clip of a dataset: where it goes and what it is a function of."""

    split: str
    name: str
    id_seed: np.random.SeedSequence  # the identity's look
    clip_index: int  # with the identity, the clip's motion


def clip_specs(
    num_videos: int, videos_per_id: int, test_fraction: float, seed: int
) -> list[ClipSpec]:
    """Every clip of a dataset in writing order. Identities are split, not
    clips: the last ``round(test_fraction * ids)`` identities (at least one
    when there are two or more) are test identities."""
    num_ids = math.ceil(num_videos / videos_per_id)
    num_test = round(test_fraction * num_ids)
    num_test = max(num_test, 1) if num_ids > 1 and test_fraction > 0 else num_test
    id_seeds = np.random.SeedSequence(seed).spawn(num_ids)
    specs = []
    for index in range(num_videos):
        identity, clip = divmod(index, videos_per_id)
        split = "test" if identity >= num_ids - num_test else "train"
        name = f"id{identity:04d}#{clip:02d}"
        specs.append(ClipSpec(split, name, id_seeds[identity], clip))
    return specs


def read_world(path: str | os.PathLike[str]) -> dict:
    """The arguments a dataset was written with: its ``world.json``, given
    itself or as the dataset's root folder."""
    path = Path(path)
    path = path / WORLD_FILE if path.is_dir() else path
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path}: not a synthetic dataset's world file ({exc})"
        ) from exc


def render_spec(spec: ClipSpec, num_frames: int, size: int, world: str) -> np.ndarray:
    """The frames of one clip, (T, S, S, 3) uint8."""
    if world == "heads":
        look, clip = synthetic_heads.identity_clip(
            spec.id_seed, spec.clip_index, num_frames
        )
        return synthetic_heads.render_clip(look, clip, size)
    look_rng = np.random.default_rng(spec.id_seed)  # same look for every clip
    state = spec.id_seed.generate_state(2)
    motion_rng = np.random.default_rng([*state, spec.clip_index])
    return render_clip(look_rng, motion_rng, num_frames, size)


def _write_clips(
    root: Path,
    video_format: str,
    *,
    world: str,
    num_videos: int,
    num_frames: int,
    size: int,
    seed: int,
    videos_per_id: int,
    test_fraction: float,
) -> list[Path]:
    """Render and write every clip under ``root``."""
    for split in ("train", "test"):
        (root / split).mkdir()
    written = []
    for spec in clip_specs(num_videos, videos_per_id, test_fraction, seed):
        frames = render_spec(spec, num_frames, size, world)
        target = root / spec.split / spec.name
        written.append(write_video(frames, target, video_format))
    return written


def _texture(rng: np.random.Generator, size: int, stripe_weight: float) -> np.ndarray:
    """(size, size, 3) float32 in [0, 1]: smooth colour noise mixed with
    two-colour stripes of random direction and frequency."""
    cells = int(rng.integers(3, 9))
    noise = rng.random((cells, cells, 3)).astype(np.float32)
    smooth = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    direction = rng.uniform(0.0, math.pi)
    frequency = rng.uniform(2.0, 8.0)
    along = x * math.cos(direction) + y * math.sin(direction)
    stripes = 0.5 + 0.5 * np.sin(2 * math.pi * frequency * along + rng.uniform(0, 7))
    colours = rng.random((2, 3)).astype(np.float32)
    striped = stripes[..., None] * colours[0] + (1.0 - stripes[..., None]) * colours[1]
    mixed = stripe_weight * striped + (1.0 - stripe_weight) * smooth
    return np.clip(mixed, 0.0, 1.0).astype(np.float32)


def _object_look(rng: np.random.Generator) -> ObjectLook:
    """Random ellipse radii and a mostly-striped or mostly-noise texture."""
    radii = (rng.uniform(0.12, 0.25), rng.uniform(0.08, 0.2))
    stripe_weight = 0.85 if rng.random() < 0.5 else 0.15
    return ObjectLook(radii, _texture(rng, TEXTURE_SIZE, stripe_weight))


def _object_motion(rng: np.random.Generator) -> ObjectMotion:
    """Random smooth motion that keeps the object centre inside the frame."""
    return ObjectMotion(
        centre=tuple(rng.uniform(0.3, 0.7, 2)),
        amplitude=tuple(rng.uniform(0.05, 0.15, 2)),
        phase=tuple(rng.uniform(0.0, 2 * math.pi, 2)),
        angle=rng.uniform(0.0, 2 * math.pi),
        spin=rng.uniform(-math.pi / 2, math.pi / 2),
        scale_swing=rng.uniform(0.0, 0.2),
        warp=rng.uniform(0.05, 0.15),
        warp_phase=rng.uniform(0.0, 2 * math.pi),
    )


def _render_frame(
    background: np.ndarray,
    looks: list[ObjectLook],
    motions: list[ObjectMotion],
    t: float,
    size: int,
) -> np.ndarray:
    """Composite the objects at time ``t`` over the background: (S, S, 3) uint8."""
    frame = background.copy()
    ys, xs = (np.mgrid[0:size, 0:size].astype(np.float32) + 0.5) / size
    for look, motion in zip(looks, motions, strict=True):
        u, v = _canonical_coordinates(xs, ys, look, motion, t)
        centre, angle, scale, _ = pose(motion, t)
        edge_pixels = min(look.radii) * scale * size / EDGE_SOFTNESS
        alpha = np.clip((1.0 - np.hypot(u, v)) * edge_pixels + 0.5, 0.0, 1.0)
        texture_max = TEXTURE_SIZE - 1
        colour = cv2.remap(
            look.texture,
            ((u + 1.0) * 0.5 * texture_max).astype(np.float32),
            ((v + 1.0) * 0.5 * texture_max).astype(np.float32),
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        frame = frame * (1.0 - alpha[..., None]) + colour * alpha[..., None]
    return (frame * 255.0 + 0.5).astype(np.uint8)


def _canonical_coordinates(
    xs: np.ndarray, ys: np.ndarray, look: ObjectLook, motion: ObjectMotion, t: float
) -> tuple[np.ndarray, np.ndarray]:
    """Object coordinates (u, v) of frame points (xs, ys): the object is the unit
    disc. Inverse of translate * rotate * scale, then a sinusoidal warp."""
    centre, angle, scale, warp_phase = pose(motion, t)
    dx, dy = xs - centre[0], ys - centre[1]
    cos, sin = math.cos(angle), math.sin(angle)
    u = (cos * dx + sin * dy) / (scale * look.radii[0])
    v = (-sin * dx + cos * dy) / (scale * look.radii[1])
    warped_u = u + motion.warp * np.sin(math.pi * v + warp_phase)
    warped_v = v + motion.warp * np.sin(math.pi * u - warp_phase)
    return warped_u, warped_v


FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI flags; defined only when run as a program, so that importing this
    module never claims common flag names (--size, --seed) from other CLIs."""
    flags.DEFINE_string("out", None, "Output dataset root (absent or empty).")
    flags.DEFINE_integer(
        "num_videos", 50, "Number of clips.", lower_bound=1, upper_bound=100_000
    )
    flags.DEFINE_integer(
        "frames", 10, "Frames per clip.", lower_bound=1, upper_bound=10_000
    )
    flags.DEFINE_integer(
        "size", 64, "Frame height and width in pixels.", lower_bound=8, upper_bound=1024
    )
    flags.DEFINE_integer(
        "seed",
        0,
        "Random seed; the output is a pure function of it.",
        lower_bound=SEED_RANGE[0],
        upper_bound=SEED_RANGE[1],
    )
    flags.DEFINE_enum("format", "png", list(FORMATS), "PNG frame folders or mp4 files.")
    flags.DEFINE_integer(
        "videos_per_id",
        1,
        "Clips per identity (look).",
        lower_bound=1,
        upper_bound=100_000,
    )
    define_float(
        "test_fraction", 0.2, "Fraction of identities put in test/.", (0.0, 1.0)
    )
    flags.DEFINE_enum(
        "world",
        "ellipses",
        list(WORLDS),
        "ellipses: textured ellipses; heads: cartoon heads with ground truth.",
    )


def main(argv: list[str]) -> None:
    """Write the dataset; bad input is a one-line error and exit status 1."""
    del argv
    if FLAGS.out is None:
        sys.exit("error: --out is required")
    with errors_as_exit():
        written = write_dataset(
            FLAGS.out,
            FLAGS.num_videos,
            FLAGS.frames,
            FLAGS.size,
            FLAGS.seed,
            FLAGS.format,
            FLAGS.videos_per_id,
            FLAGS.test_fraction,
            FLAGS.world,
        )
    print(f"wrote {len(written)} videos to {FLAGS.out}")


if __name__ == "__main__":
    define_flags()
    run(main)
