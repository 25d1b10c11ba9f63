"""Animation with the exported ``.tflite`` files only, through LiteRT.

Step for step what a phone app does: detect source keypoints once, encode the
source once (layout ``split``), then per driving frame detect keypoints and run
the frame generator with the normalisation flags. Uses
``ai_edge_litert.interpreter.Interpreter`` (XNNPACK), never TensorFlow.

``LiteRTRunner`` is a ``fomm_tf.animation.Animator``, so ``python -m
fomm_tf.animate --backend tflite`` drives it with the Keras loop; its
:meth:`LiteRTRunner.generate` normalises in the graph.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from fomm_tf import animation
from fomm_tf.errors import ExportError, brief, one_line
from fomm_tf.inference.normalization_switches import FLAG_NAMES

KEYS = ("value", "jacobian")
# The signatures (one ``.tflite`` each) that an export of each layout holds.
LAYOUT_MODELS = {
    "split": ("frame_generator", "keypoint_detector", "source_encoder"),
    "single": ("generator", "keypoint_detector"),
}
IMAGE_INPUTS = ("image", "source")  # inputs of shape (1, *frame_shape)


class LiteRTRunner:
    """Runs one exported mode directory (``model_card.json`` + ``.tflite`` files).

    Keypoints are fomm_tf dicts ``{'value': (N, K, 2), 'jacobian': (N, K, 2, 2)}``;
    images are NHWC float32 in [0, 1] at the card's frame shape.
    """

    def __init__(self, model_dir, num_threads=2):
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ExportError(f"{model_dir}: no such export directory")
        card_path = model_dir / "model_card.json"
        self.card = _read_card(card_path)
        try:
            self.frame_shape = tuple(int(d) for d in self.card["frame_shape"])
            flags = self.card["normalization_flags"]
            self.default_flags = tuple(float(f) for f in flags["config_default"])
            files = {entry["signature"]: entry["file"] for entry in self.card["models"]}
            _check_card(
                self.card["layout"],
                files,
                tuple(flags["order"]),
                self.default_flags,
                self.frame_shape,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ExportError(
                f"{card_path}: malformed model card ({one_line(error)[:200]})"
            ) from None
        self._runners = {
            signature: _signature_runner(model_dir / name, signature, num_threads)
            for signature, name in files.items()
        }
        self._check_frame_shape(model_dir)
        self._source_key = None
        self._source_features = None

    @property
    def layout(self):
        return self.card["layout"]

    def keypoints(self, frames_nhwc):
        """Keypoints of every frame (N, H, W, 3), one interpreter call each."""
        frames = self._frames(frames_nhwc)
        results = [
            self._runners["keypoint_detector"](image=frame[None]) for frame in frames
        ]
        return {
            key: np.concatenate([r[f"kp_{key}"] for r in results])
            for key in KEYS
            if f"kp_{key}" in results[0]
        }

    def generate(
        self, source, kp_source, kp_driving, kp_driving_initial=None, flags=None
    ):
        """Frames (N, H, W, 3) for N driving keypoints; source and its keypoints
        and the initial driving keypoints have batch 1.

        Normalisation runs in the graph with ``flags`` (default: the config's).
        Without ``kp_driving_initial`` the driving keypoints are taken as
        already normalised (flags all 0), as ``fomm_tf.animation.Animator``
        callers pass them.
        """
        source = self._frames(source)[:1]
        if kp_driving_initial is None:
            kp_driving_initial = {key: value[:1] for key, value in kp_driving.items()}
            flags = (0.0, 0.0, 0.0)
        flags = np.asarray(
            self.default_flags if flags is None else flags, np.float32
        ).reshape(3)
        fixed = {"source": source, "normalization_flags": flags}
        fixed.update(_named("kp_source", kp_source, 0))
        fixed.update(_named("kp_driving_initial", kp_driving_initial, 0))
        if self.layout == "split":
            fixed["source_features"] = self._features(source)
            runner = self._runners["frame_generator"]
        else:
            runner = self._runners["generator"]
        count = len(kp_driving["value"])
        frames = [
            runner(**fixed, **_named("kp_driving", kp_driving, i))["prediction"]
            for i in range(count)
        ]
        return np.concatenate(frames)

    def animate(self, source, driving, flags=None):
        """Whole pipeline (``fomm_tf.animation.animate``): the first driving frame
        gives the initial keypoints; ``flags`` default to the config's."""
        flags = self.default_flags if flags is None else flags
        return animation.animate(self, self._frames(source)[0], driving, flags=flags)

    def _features(self, source):
        """``source_encoder`` output, cached per source image."""
        key = hashlib.sha1(source.tobytes()).hexdigest()
        if key != self._source_key:
            encoded = self._runners["source_encoder"](source=source)
            self._source_features = encoded["source_features"]
            self._source_key = key
        return self._source_features

    def _check_frame_shape(self, model_dir):
        """Every image input of every file must take the card's frame shape."""
        expected = (1, *self.frame_shape)
        for name, runner in self._runners.items():
            for key, detail in runner.get_input_details().items():
                shape = tuple(int(d) for d in detail["shape"])
                if key in IMAGE_INPUTS and shape != expected:
                    raise ExportError(
                        f"{model_dir}: model_card.json frame_shape "
                        f"{list(self.frame_shape)} does not match {name} input "
                        f"{key!r} of shape {list(shape)}"
                    )

    def _frames(self, frames):
        frames = np.asarray(frames, np.float32)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.shape[1:] != self.frame_shape:
            raise ExportError(
                f"frames of shape {frames.shape[1:]} do not match the exported "
                f"frame shape {self.frame_shape}"
            )
        return frames


def _read_card(card_path):
    """The parsed ``model_card.json``; ExportError if missing or not JSON."""
    if not card_path.is_file():
        raise ExportError(f"{card_path.parent} has no model_card.json (not an export)")
    try:
        card = json.loads(card_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ExportError(f"{card_path}: not valid JSON ({error})") from None
    if not isinstance(card, dict):
        raise ExportError(f"{card_path}: not a model card")
    return card


def _check_card(layout, files, flag_order, default_flags, frame_shape):
    """``ValueError`` unless the card's layout, files, flags and frame shape are
    ones this runner can run."""
    if layout not in LAYOUT_MODELS:
        raise ValueError(f"unknown layout {brief(layout)}")
    if sorted(map(str, files)) != sorted(LAYOUT_MODELS[layout]):
        raise ValueError(
            f"layout {layout} needs the models {', '.join(LAYOUT_MODELS[layout])}, "
            f"the card lists {brief(list(files))}"
        )
    if any(type(name) is not str or Path(name).name != name for name in files.values()):
        raise ValueError(f"model files must be file names, got {brief(files)}")
    if flag_order != FLAG_NAMES:
        raise ValueError(
            f"normalization flags {brief(flag_order)} are not {', '.join(FLAG_NAMES)}"
        )
    if len(default_flags) != 3 or not set(default_flags) <= {0.0, 1.0}:
        raise ValueError(f"config_default {brief(default_flags)} is not three 0/1")
    if len(frame_shape) != 3 or min(frame_shape) < 1:
        raise ValueError(f"frame_shape {brief(frame_shape)} is not (H, W, C)")


def _signature_runner(path, signature, num_threads):
    """LiteRT signature runner of one ``.tflite``; ExportError naming the file."""
    if not path.is_file():
        raise ExportError(f"{path}: missing (listed in model_card.json)")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        return interpreter.get_signature_runner(signature)
    except ValueError as error:
        raise ExportError(f"{path}: not a usable .tflite file ({error})") from None


def _named(prefix, kp, index):
    """``{<prefix>_value: (1, K, 2), ...}`` of batch element ``index``."""
    return {
        f"{prefix}_{key}": np.asarray(kp[key][index : index + 1], np.float32)
        for key in KEYS
        if key in kp
    }
