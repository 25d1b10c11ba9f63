"""Animate a source image with a driving video (the official ``demo.py``), streaming.

The loop is backend-agnostic: anything with the :class:`Animator` methods (the
Keras graphs of ``fomm_tf.inference.keras_animator.KerasAnimator``, or
``fomm_tf.inference.litert_runner.LiteRTRunner`` over the ``.tflite`` files)
can drive it. The loop passes raw driving keypoints, the initial driving
keypoints and the ``normalize_kp`` switches as a flags vector; the animator
normalises inside its per-frame graph (``fomm_tf.inference.frame``).

Best frame. The official demo ranks driving frames by 68 face-alignment
landmarks, centred on their mean and divided by the square root of their convex
hull area; the best frame minimises the summed squared difference to the
source's pose. Here, when the eval extra is installed and a face is found in the
source, the pose is the 68 landmarks of dlib's packaged predictor
(``fomm_tf.faces``; driving frames without a face are never picked); otherwise
the model's own keypoints, normalised the same way (no extra needed, and any
object category the model was trained on). ``AnimationResult.best_frame_by``
says which.
"""

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from fomm_tf import video_io
from fomm_tf.errors import MediaError, MissingExtraError
from fomm_tf.faces import FaceNetworks
from fomm_tf.inference.normalization_switches import (
    demo_normalization,
    flags_from_keywords,
)
from fomm_tf.visualization import draw_keypoints

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
DEFAULT_CONFIG = ASSETS_DIR / "synthetic-64.yaml"
DEFAULT_CHECKPOINT = ASSETS_DIR / "synthetic-64.keras"
SAMPLE_SOURCE = ASSETS_DIR / "source.png"
SAMPLE_DRIVING = ASSETS_DIR / "driving.mp4"


class Animator(Protocol):
    """An inference backend. Arrays are numpy float32, images NHWC in [0, 1]."""

    frame_shape: tuple[int, int, int]  # (H, W, C) the networks take

    def keypoints(self, frames):
        """(B, H, W, C) -> {'value': (B, K, 2)[, 'jacobian': (B, K, 2, 2)]}."""

    def generate(
        self, source, kp_source, kp_driving, kp_driving_initial=None, flags=None
    ):
        """Source (1, H, W, C), its keypoints (batch 1) and B raw driving
        keypoints, normalised against ``kp_driving_initial`` (batch 1) with the
        ``normalize_kp`` switches ``flags`` (3,) of 0/1 in
        ``normalization_switches.FLAG_NAMES`` order -> predictions (B, H, W, C).
        Without ``kp_driving_initial`` the keypoints are used as given."""


def __getattr__(name):
    """``KerasAnimator`` on first use: the LiteRT path never imports TensorFlow."""
    if name == "KerasAnimator":
        from fomm_tf.inference.keras_animator import KerasAnimator

        return KerasAnimator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ASSETS_DIR",
    "AnimationOptions",
    "AnimationResult",
    "Animator",
    "Progress",
    "animate",
    "animate_chunks",
    "animate_video",
    "best_frame_index",
    "best_landmarks_frame",
    "check_inputs",
    "detected_keypoints",
    "prepared_chunks",
    "side_by_side",
]


def _select(kp, index):
    """Keypoints of batch element ``index``, keeping a batch axis of 1."""
    return {key: value[index : index + 1] for key, value in kp.items()}


@dataclasses.dataclass(frozen=True)
class AnimationOptions:
    """How to animate (flags of ``python -m fomm_tf.animate``)."""

    relative: bool = True
    adapt_scale: bool = True
    find_best_frame: bool = False
    best_frame: int | None = None
    batch_size: int = 4
    center_crop: bool = False
    side_by_side: bool = False
    audio: bool = False
    fps: float | None = None


class Progress:
    """A one-line stderr progress bar: frames done / total and frames per second."""

    def __init__(self, total, label, stream=None, enabled=True):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.monotonic()

    def update(self, count):
        self.done += count
        if not self.enabled:
            return
        rate = self.done / max(time.monotonic() - self.start, 1e-9)
        self.stream.write(
            f"\r{self.label}: {self.done}/{self.total} frames, {rate:.1f} frames/s"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def prepared_chunks(chunks, frame_shape, center_crop=False):
    """Chunks of raw frames as stacked fitted float32 arrays (B, H, W, C)."""
    for chunk in chunks:
        yield np.stack([video_io.fit_frame(f, frame_shape, center_crop) for f in chunk])


def best_frame_index(animator, source, driving_chunks, kp_source=None):
    """Index and keypoints (batch 1) of the driving frame whose normalised
    keypoints are closest to the source's (see module doc).

    ``driving_chunks`` yields (B, H, W, C) float arrays already fitted.
    """
    from fomm_tf.inference.keypoint_normalization import normalized_pose

    if kp_source is None:
        kp_source = animator.keypoints(source)
    source_pose = normalized_pose(kp_source["value"])
    best = (np.inf, -1, None)
    offset = 0
    for frames in driving_chunks:
        kp = animator.keypoints(frames)
        distances = ((normalized_pose(kp["value"]) - source_pose) ** 2).sum(axis=(1, 2))
        index = int(np.argmin(distances))
        if distances[index] < best[0]:
            best = (distances[index], offset + index, _select(kp, index))
        offset += len(frames)
    if best[1] < 0:
        raise ValueError("driving video has no frames")
    return best[1], best[2]


def best_landmarks_frame(networks, source, driving_chunks):
    """Index and frame (H, W, C) of the driving frame whose normalised 68 face
    landmarks are closest to the source's (official ``find_best_frame``), or
    None when no face is found in the source or in any driving frame.

    ``networks`` is a ``faces.FaceNetworks``; ``driving_chunks`` yields
    (B, H, W, C) float arrays already fitted.
    """
    from fomm_tf.inference.keypoint_normalization import normalized_pose

    source_face = networks.face(source[0])
    if source_face is None:
        return None
    source_pose = normalized_pose(source_face.landmarks[None])
    best = (np.inf, None)
    for index, frame in enumerate(frame for chunk in driving_chunks for frame in chunk):
        face = networks.face(frame)
        if face is None:
            continue
        distance = ((normalized_pose(face.landmarks[None]) - source_pose) ** 2).sum()
        if distance < best[0]:
            best = (distance, (index, frame))
    return best[1]


def detected_keypoints(animator, driving_chunks, kp_driving_initial=None):
    """Yields ``(frames, kp_driving, kp_driving_initial)`` per chunk of fitted
    driving frames (B, H, W, C). The initial driving keypoints default to the
    first frame's (official demo)."""
    for frames in driving_chunks:
        kp_driving = animator.keypoints(frames)
        if kp_driving_initial is None:
            kp_driving_initial = _select(kp_driving, 0)
        yield frames, kp_driving, kp_driving_initial


def animate_chunks(
    animator, source, driving_chunks, flags, kp_driving_initial=None, kp_source=None
):
    """Yields ``(frames, kp_driving, predictions)`` per driving chunk.

    ``source`` is (1, H, W, C); chunks are (B, H, W, C) fitted frames; ``flags``
    the ``normalize_kp`` switches (3,). The source keypoints are computed once;
    the animator normalises the driving keypoints (``Animator.generate``).
    """
    if kp_source is None:
        kp_source = animator.keypoints(source)
    steps = detected_keypoints(animator, driving_chunks, kp_driving_initial)
    for frames, kp_driving, kp_initial in steps:
        predictions = animator.generate(
            source, kp_source, kp_driving, kp_initial, flags
        )
        yield frames, kp_driving, predictions


def animate(
    animator,
    source,
    driving,
    relative=True,
    adapt_scale=True,
    initial_frame=0,
    batch_size=4,
    flags=None,
):
    """In-memory animation: fitted source (H, W, C) and driving frames (N, H, W, C)
    -> predictions (N, H, W, C), normalised against driving frame
    ``initial_frame`` (0, or the best frame of the official demo) as the demo's
    ``relative`` / ``adapt_scale`` say, or by any ``normalize_kp`` ``flags``."""
    if flags is None:
        flags = flags_from_keywords(demo_normalization(relative, adapt_scale))
    source = np.asarray(source, np.float32)[None]
    driving = np.asarray(driving, np.float32)
    initial = None  # frame 0: taken from the first chunk, as animate_video does
    if initial_frame:
        initial = animator.keypoints(driving[initial_frame : initial_frame + 1])
    chunks = (driving[i : i + batch_size] for i in range(0, len(driving), batch_size))
    steps = animate_chunks(animator, source, chunks, flags, initial)
    return np.concatenate([predictions for *_, predictions in steps])


def side_by_side(source, frames, predictions, kp_source, kp_driving, kp_size=None):
    """(B, H, 3W, C) panels: source with its keypoints | driving with its
    keypoints | result."""
    kp_size = kp_size or max(1, source.shape[1] // 64)
    source_panel = draw_keypoints(source[0], kp_source["value"][0], kp_size)
    rows = []
    for frame, values, prediction in zip(
        frames, kp_driving["value"], predictions, strict=True
    ):
        driving_panel = draw_keypoints(frame, values, kp_size)
        rows.append(np.concatenate([source_panel, driving_panel, prediction], axis=1))
    return np.stack(rows)


@dataclasses.dataclass(frozen=True)
class AnimationResult:
    """What :func:`animate_video` wrote."""

    path: str
    frame_count: int
    fps: float
    initial_frame: int
    best_frame_by: str | None = None  # with find_best_frame: what ranked the frames


def _best_frame(animator, source, kp_source, driving_chunks):
    """Index, keypoints and method of the best driving frame: the 68 face
    landmarks when the eval extra is installed and faces are found, else the
    model's keypoints. ``driving_chunks()`` gives a fresh iterator of chunks."""
    try:
        networks = FaceNetworks(embeddings=False)
    except MissingExtraError as error:
        reason = f"model keypoints: {error}"
    else:
        found = best_landmarks_frame(networks, source, driving_chunks())
        if found is not None:
            index, frame = found
            return index, animator.keypoints(frame[None]), "68 face landmarks"
        reason = "model keypoints: no face found in the source or the driving video"
    return *best_frame_index(animator, source, driving_chunks(), kp_source), reason


def _initial_keypoints(animator, source, kp_source, driving_path, info, options):
    """Index and keypoints of the frame the relative motion is measured from,
    and what ranked the frames (None unless ``find_best_frame``)."""
    frame_shape = animator.frame_shape
    if options.best_frame is not None:
        if not 0 <= options.best_frame < info.frame_count:
            raise ValueError(
                f"--best_frame {options.best_frame}: the driving video has frames "
                f"0..{info.frame_count - 1}"
            )
        frame = video_io.read_frame(driving_path, options.best_frame)
        fitted = video_io.fit_frame(frame, frame_shape, options.center_crop)
        return options.best_frame, animator.keypoints(fitted[None]), None
    if options.find_best_frame:
        return _best_frame(
            animator,
            source,
            kp_source,
            lambda: prepared_chunks(
                video_io.iter_video_frames(driving_path, options.batch_size),
                frame_shape,
                options.center_crop,
            ),
        )
    return 0, None, None


def _inputs(source_path, driving_path):
    return (("--source_image", source_path), ("--driving_video", driving_path))


def check_inputs(source_path, driving_path, result_path, options=AnimationOptions()):
    """The source image and the driving VideoInfo; raises ValueError (MediaError)
    naming the first problem. Cheap, so a CLI can call it before loading a model."""
    if options.batch_size < 1:
        raise ValueError(f"--batch_size must be positive, got {options.batch_size}")
    video_io.check_writable(
        result_path, _inputs(source_path, driving_path), options.audio
    )
    source_image = video_io.read_image(source_path)
    return source_image, video_io.video_info(driving_path, options.fps)


def animate_video(
    animator,
    source_path,
    driving_path,
    result_path,
    options=AnimationOptions(),
    show_progress=True,
):
    """Animate an image file with a video file (or frame folder) into
    ``result_path`` (a video file, or a folder of PNG frames when it has no
    video suffix), streaming in chunks of ``options.batch_size`` frames.

    With ``find_best_frame`` / ``best_frame`` the motion is taken relative to
    that frame, which is what the official demo's forward + backward passes
    from it compute. The result keeps the driving frame rate and count.
    """
    source_image, info = check_inputs(source_path, driving_path, result_path, options)
    source = video_io.fit_frame(source_image, animator.frame_shape, options.center_crop)
    source = source[None]
    kp_source = animator.keypoints(source)
    initial_frame, kp_initial, best_frame_by = _initial_keypoints(
        animator, source, kp_source, driving_path, info, options
    )
    chunks = prepared_chunks(
        video_io.iter_video_frames(driving_path, options.batch_size),
        animator.frame_shape,
        options.center_crop,
    )
    progress = Progress(
        info.frame_count, os.path.basename(result_path), enabled=show_progress
    )
    audio_from = driving_path if options.audio else None
    with video_io.VideoWriter(
        result_path,
        info.fps,
        audio_from=audio_from,
        inputs=_inputs(source_path, driving_path),
    ) as writer:
        flags = flags_from_keywords(
            demo_normalization(options.relative, options.adapt_scale)
        )
        for frames, kp_driving, predictions in animate_chunks(
            animator, source, chunks, flags, kp_initial, kp_source
        ):
            if options.side_by_side:
                predictions = side_by_side(
                    source, frames, predictions, kp_source, kp_driving
                )
            writer.write(predictions)
            progress.update(len(frames))
        if writer.frame_count < info.frame_count:
            raise MediaError(
                f"{driving_path}: decoding stopped after {writer.frame_count} of "
                f"{info.frame_count} frames"
            )
    return AnimationResult(
        os.fspath(result_path), writer.frame_count, info.fps, initial_frame,
        best_frame_by,
    )  # fmt: skip
