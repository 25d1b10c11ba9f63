"""Cartoon heads: a synthetic object category made for FOMM, with ground truth.

Every identity is the same kind of object in the same layout (as faces in
VoxCeleb): a head ellipse with a texture that moves with it, optional hair cap
and ears, two eyes (white, iris, pupil), a nose and a mouth. Identities differ
in colours, texture and proportions. A clip is a static background behind one
identity moving under a global similarity (shift, rotation, scale) plus local
part motion (the mouth opens, the eyes blink).

Each clip starts in a neutral expression (mouth closed, eyes open) and its pose
is ``first pose`` composed with a smooth ``delta(t)`` (``delta(0)`` = identity),
so "identity A performing clip B's motion" (FOMM's relative animation) has an
exact ground truth: A's first pose composed with B's deltas, B's expression.

Coordinates: canonical head units (the head's own frame, 1 = the frame width
at scale 1) are mapped to frame fractions in [0, 1] by
``frame = centre + scale * R(angle) @ canonical``. Landmarks are returned in
the model's keypoint convention ([-1, 1], -1 and +1 on the outer pixel
centres, see :mod:`fomm_tf.conventions`).

Everything is a pure function of the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

SUPERSAMPLING = 4  # rendered at 4x and area-averaged: anti-aliased edges
TEXTURE_SIZE = 64  # skin texture image, sampled in canonical coordinates
# Named landmarks, in canonical head units before the expression moves them.
LANDMARKS = (
    "left_eye",
    "right_eye",
    "nose",
    "mouth_left",
    "mouth_right",
    "mouth_top",
    "mouth_bottom",
    "head_top",
    "chin",
    "left_cheek",
    "right_cheek",
)
# Motion ranges, chosen so that copying the first frame is clearly wrong.
MAX_SHIFT = 0.15  # frame fraction, each axis
MAX_ROTATION = math.radians(25)
MAX_SCALE_SWING = 0.15  # relative
BLINK_FRAMES = 0.08  # fraction of the clip an eye blink lasts
NOSE = (0.0, 0.03)  # canonical centre of the nose


@dataclass(frozen=True)
class HeadLook:
    """One identity: proportions (canonical units) and colours (RGB in [0, 1])."""

    radii: tuple[float, float]  # head ellipse (half width, half height)
    eye_offset: tuple[float, float]  # right eye at (+x, y); left at (-x, y)
    eye_radii: tuple[float, float]
    iris_radius: float
    mouth_y: float
    mouth_half_width: float
    skin: np.ndarray
    skin_texture: np.ndarray  # (TEXTURE_SIZE, TEXTURE_SIZE, 3) multiplier
    hair: np.ndarray | None  # None: no hair cap
    hair_line: float  # canonical y above which the cap covers the head
    ears: bool
    iris: np.ndarray
    lips: np.ndarray


@dataclass(frozen=True)
class Pose:
    """Global similarity and expression of one frame."""

    centre: tuple[float, float]  # frame fraction (x, y)
    angle: float  # radians, counter-clockwise on screen
    scale: float
    mouth_open: float  # 0 closed .. 1 wide open
    eyes_open: float  # 1 open .. 0 shut


@dataclass(frozen=True)
class HeadClip:
    """What a clip shows: background colours, first pose and its motion."""

    background: tuple[np.ndarray, np.ndarray, float]  # two colours, direction
    first: Pose
    poses: tuple[Pose, ...]  # per frame, poses[0] == first


def sample_look(rng: np.random.Generator) -> HeadLook:
    """A random identity."""
    skin = rng.uniform(0.25, 0.95, 3)
    noise = rng.uniform(0.75, 1.15, (int(rng.integers(4, 8)),) * 2 + (3,))
    texture = cv2.resize(noise, (TEXTURE_SIZE,) * 2, interpolation=cv2.INTER_CUBIC)
    spots = rng.uniform(0, TEXTURE_SIZE, (int(rng.integers(4, 10)), 2))
    for x, y in spots:
        cv2.circle(texture, (int(x), int(y)), int(rng.integers(2, 4)), (0.6,) * 3, -1)
    return HeadLook(
        radii=(rng.uniform(0.24, 0.29), rng.uniform(0.29, 0.35)),
        eye_offset=(rng.uniform(0.09, 0.12), rng.uniform(-0.09, -0.04)),
        eye_radii=(rng.uniform(0.045, 0.06), rng.uniform(0.04, 0.055)),
        iris_radius=rng.uniform(0.02, 0.03),
        mouth_y=rng.uniform(0.12, 0.18),
        mouth_half_width=rng.uniform(0.07, 0.1),
        skin=skin,
        skin_texture=texture.astype(np.float32),
        hair=rng.uniform(0.0, 0.6, 3) if rng.random() < 0.7 else None,
        hair_line=rng.uniform(-0.24, -0.15),
        ears=bool(rng.random() < 0.5),
        iris=rng.uniform(0.0, 0.8, 3),
        lips=np.array([rng.uniform(0.5, 0.9), rng.uniform(0.1, 0.3), 0.2]),
    )


def sample_clip(rng: np.random.Generator, num_frames: int) -> HeadClip:
    """A random background, first pose and smooth motion of ``num_frames``."""
    first = Pose(
        centre=tuple(rng.uniform(0.42, 0.58, 2)),
        angle=rng.uniform(-0.15, 0.15),
        scale=rng.uniform(0.9, 1.05),
        mouth_open=0.0,
        eyes_open=1.0,
    )
    times = np.linspace(0.0, 1.0, num_frames)
    deltas = _similarity_deltas(rng, times)
    mouth = _mouth_opening(rng, times)
    eyes = _eye_opening(rng, times)
    poses = tuple(
        compose(first, *delta, mouth=m, eyes=e)
        for delta, m, e in zip(deltas, mouth, eyes, strict=True)
    )
    background = (rng.uniform(0, 1, 3), rng.uniform(0, 1, 3), rng.uniform(0, math.pi))
    return HeadClip(background, first, poses)


def compose(first: Pose, shift, rotation, scale, *, mouth, eyes) -> Pose:
    """``first`` moved by a similarity delta, with the given expression."""
    return Pose(
        centre=(first.centre[0] + shift[0], first.centre[1] + shift[1]),
        angle=first.angle + rotation,
        scale=first.scale * scale,
        mouth_open=mouth,
        eyes_open=eyes,
    )


def retarget(clip: HeadClip, target: HeadClip) -> HeadClip:
    """``target``'s background and first pose performing ``clip``'s motion."""
    poses = tuple(
        compose(
            target.first,
            (
                pose.centre[0] - clip.first.centre[0],
                pose.centre[1] - clip.first.centre[1],
            ),
            pose.angle - clip.first.angle,
            pose.scale / clip.first.scale,
            mouth=pose.mouth_open,
            eyes=pose.eyes_open,
        )
        for pose in clip.poses
    )
    return replace(target, poses=poses)


def identity_clip(
    id_seed: np.random.SeedSequence, clip_index: int, num_frames: int
) -> tuple[HeadLook, HeadClip]:
    """Identity ``id_seed``'s look and its clip number ``clip_index``."""
    look = sample_look(np.random.default_rng(id_seed))
    motion_rng = np.random.default_rng([*id_seed.generate_state(2), clip_index])
    return look, sample_clip(motion_rng, num_frames)


def render_clip(look: HeadLook, clip: HeadClip, size: int) -> np.ndarray:
    """(T, size, size, 3) uint8 frames of ``look`` performing ``clip``."""
    background = _background(clip.background, size * SUPERSAMPLING)
    frames = [_render_frame(look, pose, background, size) for pose in clip.poses]
    return np.stack(frames)


def landmarks(look: HeadLook, clip: HeadClip, size: int) -> np.ndarray:
    """(T, len(LANDMARKS), 2) ground-truth landmarks of ``size`` x ``size``
    frames, in the keypoint convention."""
    return np.stack([_frame_landmarks(look, pose, size) for pose in clip.poses])


def pose_parameters(clip: HeadClip) -> np.ndarray:
    """(T, 6): centre x, centre y, angle, scale, mouth_open, eyes_open."""
    return np.array(
        [(*p.centre, p.angle, p.scale, p.mouth_open, p.eyes_open) for p in clip.poses],
        np.float32,
    )


def _similarity_deltas(rng, times):
    """Per time: (shift (x, y), rotation, scale), all identity at t = 0."""
    speed = rng.uniform(0.6, 1.4, 4)
    phase = rng.uniform(0, 2 * math.pi, 4)
    amplitude = (
        rng.uniform(0.5, 1.0, 2) * MAX_SHIFT,
        rng.uniform(0.4, 1.0) * MAX_ROTATION * rng.choice([-1, 1]),
        rng.uniform(0.3, 1.0) * MAX_SCALE_SWING,
    )

    def wave(i, t):  # zero at t = 0, within [-1, 1] (up to a factor 2)
        return 0.5 * (
            math.sin(2 * math.pi * speed[i] * t + phase[i]) - math.sin(phase[i])
        )

    return [
        (
            (amplitude[0][0] * wave(0, t), amplitude[0][1] * wave(1, t)),
            amplitude[1] * wave(2, t),
            1.0 + amplitude[2] * wave(3, t),
        )
        for t in times
    ]


def _mouth_opening(rng, times):
    """0 at t = 0, opens and closes one to three times."""
    cycles = rng.integers(1, 4)
    peak = rng.uniform(0.6, 1.0)
    return peak * np.sin(math.pi * cycles * times) ** 2


def _eye_opening(rng, times):
    """1 except during one or two blinks."""
    opening = np.ones_like(times)
    for centre in rng.uniform(0.2, 0.9, int(rng.integers(1, 3))):
        closeness = 1.0 - np.abs(times - centre) / BLINK_FRAMES
        opening = np.minimum(opening, 1.0 - np.clip(closeness * 1.5, 0.0, 1.0))
    return opening


def _background(colours, pixels):
    """(pixels, pixels, 3) linear gradient between two colours."""
    first, second, direction = colours
    ys, xs = np.mgrid[0:pixels, 0:pixels].astype(np.float32) / pixels
    ramp = (xs * math.cos(direction) + ys * math.sin(direction)) / math.sqrt(2)
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    return (1 - ramp)[..., None] * first + ramp[..., None] * second


def _canonical_grid(pose: Pose, pixels: int):
    """Canonical (u, v) of every render pixel centre: inverse of the pose."""
    coords = (np.arange(pixels, dtype=np.float32) + 0.5) / pixels
    dx = coords[None, :] - pose.centre[0]
    dy = coords[:, None] - pose.centre[1]
    cos, sin = math.cos(pose.angle), math.sin(pose.angle)
    u = (cos * dx + sin * dy) / pose.scale
    v = (-sin * dx + cos * dy) / pose.scale
    return u, v


def _ellipse(u, v, centre, radii):
    """Boolean mask of an axis-aligned ellipse in canonical units."""
    return ((u - centre[0]) / radii[0]) ** 2 + ((v - centre[1]) / radii[1]) ** 2 < 1


def _render_frame(look: HeadLook, pose: Pose, background, size):
    """One (size, size, 3) uint8 frame (rendered supersampled, then averaged)."""
    pixels = size * SUPERSAMPLING
    u, v = _canonical_grid(pose, pixels)
    image = background.copy()
    for centre, radii, colour in _ears(look):
        image[_ellipse(u, v, centre, radii)] = colour
    head = _ellipse(u, v, (0.0, 0.0), look.radii)
    skin = _skin(look, u, v)
    image[head] = skin[head]
    if look.hair is not None:
        image[head & (v < look.hair_line)] = look.hair
    for centre, radii, colour in _face_parts(look, pose):
        image[_ellipse(u, v, centre, radii)] = colour
    small = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return (np.clip(small, 0, 1) * 255 + 0.5).astype(np.uint8)


def _skin(look, u, v):
    """Skin colour times the identity's texture, fixed to the head."""
    span = TEXTURE_SIZE - 1
    scale = span / (2 * max(look.radii))
    map_x = ((u + max(look.radii)) * scale).astype(np.float32)
    map_y = ((v + max(look.radii)) * scale).astype(np.float32)
    texture = cv2.remap(
        look.skin_texture, map_x, map_y, cv2.INTER_LINEAR, cv2.BORDER_REFLECT
    )
    return texture * look.skin


def _ears(look):
    """Ellipses behind the head: the ears, if the identity has them."""
    if not look.ears:
        return []
    radii = (0.06, 0.09)
    colour = look.skin * 0.8
    return [((side * look.radii[0], 0.0), radii, colour) for side in (-1, 1)]


def _face_parts(look, pose):
    """(centre, radii, colour) ellipses drawn over the head, back to front."""
    parts = []
    ex, ey = look.eye_offset
    open_height = max(look.eye_radii[1] * pose.eyes_open, 1e-3)
    for side in (-1, 1):
        eye = (side * ex, ey)
        parts.append((eye, (look.eye_radii[0], look.eye_radii[1]), look.skin * 0.55))
        if pose.eyes_open > 0.15:
            parts.append((eye, (look.eye_radii[0] * 0.9, open_height), _WHITE))
            iris = (look.iris_radius, min(look.iris_radius, open_height))
            parts.append((eye, iris, look.iris))
            pupil = (look.iris_radius * 0.45, min(look.iris_radius * 0.45, open_height))
            parts.append((eye, pupil, _BLACK))
    parts.append((NOSE, (0.022, 0.03), look.skin * 0.7))
    mouth_height = _mouth_height(pose)
    mouth = (0.0, look.mouth_y)
    parts.append((mouth, (look.mouth_half_width, mouth_height), look.lips))
    if pose.mouth_open > 0.05:
        inner = (look.mouth_half_width * 0.8, mouth_height * 0.7)
        parts.append((mouth, inner, _MOUTH_INSIDE))
    return parts


def _mouth_height(pose: Pose) -> float:
    """Half height of the lips ellipse, canonical units."""
    return 0.014 + 0.06 * pose.mouth_open


def _frame_landmarks(look: HeadLook, pose: Pose, size: int) -> np.ndarray:
    """Landmarks of one frame in [-1, 1] (-1 and +1 on the outer pixel centres)."""
    ex, ey = look.eye_offset
    mouth_height = _mouth_height(pose)
    canonical = np.array(
        [
            (-ex, ey),
            (ex, ey),
            NOSE,
            (-look.mouth_half_width, look.mouth_y),
            (look.mouth_half_width, look.mouth_y),
            (0.0, look.mouth_y - mouth_height),
            (0.0, look.mouth_y + mouth_height),
            (0.0, -look.radii[1]),
            (0.0, look.radii[1]),
            (-look.radii[0], 0.05),
            (look.radii[0], 0.05),
        ]
    )
    cos, sin = math.cos(pose.angle), math.sin(pose.angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    fraction = np.asarray(pose.centre) + pose.scale * canonical @ rotation.T
    pixel = fraction * size - 0.5  # pixel i's centre is at (i + 0.5) / size
    return (pixel * 2.0 / (size - 1) - 1.0).astype(np.float32)


_WHITE = np.array([0.97, 0.97, 0.95])
_BLACK = np.array([0.02, 0.02, 0.03])
_MOUTH_INSIDE = np.array([0.25, 0.03, 0.05])
