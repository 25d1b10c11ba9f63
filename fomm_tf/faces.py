"""Packaged face networks (dlib): a face detector, 68 landmarks and a 128-d
identity embedding, for the paper's face metrics and the face-aware best frame.

They come with the optional extra ``pip install 'fomm-tf[eval]'``: ``dlib-bin``
(prebuilt dlib wheels) and ``face-recognition-models`` (dlib's model files, read
from the installed package; nothing is downloaded at run time). The core install
works without them; asking for a face network then raises
:class:`MissingExtraError` naming the extra.

- Detection: dlib's HOG frontal face detector on the frame upsampled (dlib's
  pyramid, by 2x steps) until its short side is at least ``DETECTION_SIDE``
  pixels; the largest face is kept.
- Landmarks: ``shape_predictor_68_face_landmarks.dat`` (the iBUG 68-point
  layout that face-alignment, the paper's landmark network, also outputs),
  (x, y) in pixels of the frame given.
- Identity: ``dlib_face_recognition_resnet_model_v1.dat`` (a ResNet giving a
  128-d embedding of the face aligned by its landmarks; dlib states two faces
  are the same person when their distance is below 0.6).
"""

import dataclasses
import importlib
import importlib.util
import math
from pathlib import Path

import numpy as np

from fomm_tf import video_io
from fomm_tf.errors import MissingExtraError

EXTRA = "pip install 'fomm-tf[eval]'"
MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_MODEL = "shape_predictor_68_face_landmarks.dat"
EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
DETECTION_SIDE = 256


@dataclasses.dataclass(frozen=True)
class Face:
    """One detected face: ``landmarks`` (68, 2) float32 (x, y) pixels, and its
    ``embedding`` (128,) float32 when the networks compute embeddings."""

    landmarks: np.ndarray
    embedding: np.ndarray | None = None


def _dlib():
    try:
        return importlib.import_module("dlib")
    except ImportError as error:
        raise MissingExtraError(
            f"face networks need the eval extra ({EXTRA}): dlib is not installed"
        ) from error


def model_file(name):
    """Path of a model file of ``face_recognition_models``, found without
    importing that package (its ``__init__`` needs setuptools' pkg_resources)."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            f"face networks need the eval extra ({EXTRA}): {MODELS_PACKAGE} is "
            "not installed"
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise MissingExtraError(f"{path}: missing; reinstall the eval extra ({EXTRA})")
    return path


def upsamplings(height, width):
    """dlib pyramid upsamplings (each 2x) bringing the short side to at least
    ``DETECTION_SIDE`` pixels (the HOG detector finds faces of ~80 pixels up)."""
    return max(0, math.ceil(math.log2(DETECTION_SIDE / min(height, width))))


class FaceNetworks:
    """The packaged dlib networks; ``embeddings=False`` skips the identity
    network (landmarks only)."""

    def __init__(self, embeddings=True):
        dlib = _dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(model_file(LANDMARKS_MODEL)))
        self._encoder = None
        if embeddings:
            path = str(model_file(EMBEDDING_MODEL))
            self._encoder = dlib.face_recognition_model_v1(path)

    def face(self, frame):
        """The largest face of an (H, W, 3) frame in [0, 1] (or uint8), or None."""
        image = np.ascontiguousarray(video_io.to_uint8(video_io.to_float(frame)))
        boxes = self._detector(image, upsamplings(*image.shape[:2]))
        if not boxes:
            return None
        box = max(boxes, key=lambda rect: rect.area())
        shape = self._predictor(image, box)
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
        if self._encoder is None:
            return Face(landmarks)
        embedding = self._encoder.compute_face_descriptor(image, shape)
        return Face(landmarks, np.array(embedding, np.float32))
