"""The paper's reconstruction metrics (FOMM, Tables 1-3): L1, AKD, MKR and AED.

L1 is computed by the evaluation loop (``fomm_tf.evaluation``). The face metrics
compare each ground-truth frame with its reconstruction through the packaged
dlib networks (``fomm_tf.faces``), both at the model's frame size:

- AKD (average keypoint distance): the Euclidean distance in pixels between
  the 68 landmarks of the ground-truth face and those of the generated face,
  averaged over the landmarks and over the frames where both faces are found.
- MKR (missing keypoint rate): the fraction of frames whose ground-truth face
  is found but whose generated face is not.
- AED (average euclidean distance): the L2 distance between the 128-d identity
  embeddings of the two faces, averaged like AKD. dlib's embedding replaces the
  paper's OpenFace, so absolute AED values differ from the paper's.

Frames whose ground-truth face is not found count in none of them. A video or
dataset with no such frame has no value (NaN; ``None`` in JSON).
"""

import dataclasses

import numpy as np

from fomm_tf.errors import InputError
from fomm_tf.faces import FaceNetworks

FACE_METRICS = ("akd", "mkr", "aed")
METRICS = ("l1", *FACE_METRICS)


def parse_metrics(names):
    """Metric names (``--metrics l1,akd``) in ``METRICS`` order; an unknown
    or missing name is an InputError."""
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(METRICS))
    if unknown:
        raise InputError(
            f"--metrics: unknown {', '.join(unknown)}; choose from {','.join(METRICS)}"
        )
    if not wanted:
        raise InputError(f"--metrics: name at least one of {','.join(METRICS)}")
    return tuple(name for name in METRICS if name in wanted)


def face_networks_for(metrics):
    """The face networks the metrics need (identity only for AED), or None."""
    if not set(metrics) & set(FACE_METRICS):
        return None
    return FaceNetworks(embeddings="aed" in metrics)


def keypoint_distance(landmarks, other):
    """Mean Euclidean distance between two (K, 2) landmark sets (pixels)."""
    return float(np.linalg.norm(landmarks - other, axis=-1).mean())


def identity_distance(embedding, other):
    """L2 distance between two identity embeddings."""
    return float(np.linalg.norm(embedding - other))


@dataclasses.dataclass(frozen=True)
class FrameFaces:
    """What the face networks found in one ground-truth frame and its
    reconstruction; the distances are None unless both faces were found."""

    ground_truth_found: bool
    generated_found: bool
    keypoint_distance: float | None = None
    identity_distance: float | None = None


def compare_faces(truth, generated):
    """FrameFaces of two ``faces.Face`` results (either may be None)."""
    if truth is None or generated is None:
        return FrameFaces(truth is not None, generated is not None)
    identity = None
    if truth.embedding is not None:
        identity = identity_distance(truth.embedding, generated.embedding)
    return FrameFaces(
        True, True, keypoint_distance(truth.landmarks, generated.landmarks), identity
    )


def compare_frames(networks, ground_truth, generated):
    """FrameFaces of each pair of (N, H, W, 3) ground-truth and generated frames."""
    return [
        compare_faces(networks.face(truth), networks.face(fake))
        for truth, fake in zip(ground_truth, generated, strict=True)
    ]


def _mean(values):
    values = [value for value in values if value is not None]
    return float(np.mean(values)) if values else float("nan")


@dataclasses.dataclass(frozen=True)
class FaceScores:
    """AKD, MKR and AED over a sequence of FrameFaces (one video, or all frames
    of a dataset: the paper's averages are over all frames)."""

    frames: tuple[FrameFaces, ...]

    @property
    def ground_truth_faces(self):
        return sum(frame.ground_truth_found for frame in self.frames)

    @property
    def missing(self):
        return sum(f.ground_truth_found and not f.generated_found for f in self.frames)

    @property
    def akd(self):
        return _mean(frame.keypoint_distance for frame in self.frames)

    @property
    def mkr(self):
        faces = self.ground_truth_faces
        return self.missing / faces if faces else float("nan")

    @property
    def aed(self):
        return _mean(frame.identity_distance for frame in self.frames)


def require_faces(networks, frames, dataset_root):
    """InputError unless a face is found in one of ``frames`` (the first frame
    of each test video): AKD, MKR and AED measure faces."""
    if not any(networks.face(frame) is not None for frame in frames):
        raise InputError(
            f"{dataset_root}: no face found in the first frame of any test video; "
            "akd, mkr and aed measure faces (VoxCeleb-like datasets), use "
            "--metrics l1 for bodies and other objects (TaiChi, BAIR, MGif, Fashion)"
        )
