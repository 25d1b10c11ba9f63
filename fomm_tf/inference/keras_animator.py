"""The Keras backend of ``fomm_tf.animation``: the models as ``tf.function`` graphs."""

import hashlib

import numpy as np
import tensorflow as tf

from fomm_tf.inference import inference_transforms
from fomm_tf.inference.frame import animate_frame
from fomm_tf.inference.normalization_switches import (
    FLAG_NAMES,
    flags_from_keywords,
    keywords,
)


def _graph(function, input_signature):
    """``tf.function`` without AutoGraph: the frame code has no Python control
    flow on tensors, and converting it took 2.6 s of the 3.6 s first trace of
    the vox-256 frame function."""
    return tf.function(function, input_signature=input_signature, autograph=False)


class KerasAnimator:
    """``fomm_tf.animation.Animator`` over ``FommModels``.

    A chunk of frames is one ``tf.function`` call (keypoint normalisation,
    dense motion, warp, decode: ``inference.frame.animate_frame``) with a fixed
    input signature (batch size free, so one trace serves every chunk). The
    source is encoded once per source image, not per chunk.

    ``optimize``: apply ``inference_transforms.optimize_for_inference`` first
    (batch norm folding, sub-pixel up blocks; changes ``models`` in place, for
    a caller that only animates with them, as the command does);
    ``precision="bfloat16"`` (implies ``optimize``) also decodes in bfloat16.
    """

    def __init__(self, models, optimize=False, precision="float32"):
        if optimize or precision != "float32":
            inference_transforms.optimize_for_inference(models, precision)
        self.models = models
        config = models.config
        common = config.model_params.common_params
        self.frame_shape = tuple(config.dataset_params.frame_shape)
        self.default_flags = flags_from_keywords(
            keywords(config.animate_params.normalization_params)
        )
        frames = tf.TensorSpec((None, *self.frame_shape), tf.float32)
        kp = {"value": tf.TensorSpec((None, common.num_kp, 2), tf.float32)}
        if common.estimate_jacobian:
            kp["jacobian"] = tf.TensorSpec((None, common.num_kp, 2, 2), tf.float32)
        flags = tf.TensorSpec((len(FLAG_NAMES),), tf.float32)
        features = tf.TensorSpec((None, *_feature_shape(models)), tf.float32)
        signature = [frames, features, kp, kp, kp, flags]
        self._keypoints = _graph(self._detect, input_signature=[frames])
        self._encode = _graph(self._encode_source, input_signature=[frames])
        self._source_key = self._source_features = None
        self._predictions = _graph(self._predict, input_signature=signature)
        self._outputs = _graph(self._frame_outputs, input_signature=signature)

    def keypoints(self, frames):
        return _numpy(self._keypoints(np.asarray(frames, np.float32)))

    def generate(
        self, source, kp_source, kp_driving, kp_driving_initial=None, flags=None
    ):
        """Predictions (B, H, W, C) for B raw driving keypoints, normalised
        against ``kp_driving_initial`` (batch 1) with ``flags`` (default: the
        config's ``normalization_params``). Without ``kp_driving_initial`` the
        driving keypoints are taken as already normalised (flags all 0)."""
        inputs = self._inputs(source, kp_driving, kp_driving_initial, flags)
        return self._predictions(*inputs[:2], kp_source, *inputs[2:]).numpy()

    def frame_outputs(
        self, source, kp_source, kp_driving, kp_driving_initial=None, flags=None
    ):
        """As :meth:`generate`, with every output of ``animate_frame`` and the
        source warped by the deformation (``deformed``), as numpy arrays."""
        inputs = self._inputs(source, kp_driving, kp_driving_initial, flags)
        out = self._outputs(*inputs[:2], kp_source, *inputs[2:])
        return {key: _numpy(value) for key, value in out.items()}

    def _inputs(self, source, kp_driving, kp_driving_initial, flags):
        if kp_driving_initial is None:
            kp_driving_initial = {key: value[:1] for key, value in kp_driving.items()}
            flags = np.zeros(len(FLAG_NAMES), np.float32)
        if flags is None:
            flags = self.default_flags
        flags = np.asarray(flags, np.float32)
        source = np.asarray(source, np.float32)
        features = self._features(source)
        return source, features, kp_driving, kp_driving_initial, flags

    def _features(self, source):
        """The source's encoded features, cached per source image."""
        key = hashlib.sha1(source.tobytes()).hexdigest()
        if key != self._source_key:
            self._source_features = self._encode(source)
            self._source_key = key
        return self._source_features

    def _encode_source(self, source):
        return self.models.generator.encode(source, training=False)

    def _detect(self, frames):
        return self.models.kp_detector(frames, training=False)

    def _frames(
        self, source, features, kp_source, kp_driving, kp_driving_initial, flags
    ):
        """``animate_frame`` for B driving keypoints; the source (batch 1) is
        tiled with its keypoints and features."""
        batch = tf.shape(kp_driving["value"])[0]
        generator = self.models.generator
        tiled = {
            key: tf.repeat(value, batch, axis=0) for key, value in kp_source.items()
        }
        source = tf.repeat(source, batch, axis=0)
        features = tf.repeat(features, batch, axis=0)
        out = animate_frame(
            generator, source, features, tiled, kp_driving, kp_driving_initial, flags
        )
        return source, out

    def _predict(self, *inputs):
        return self._frames(*inputs)[1]["prediction"]

    def _frame_outputs(self, *inputs):
        source, out = self._frames(*inputs)
        if "deformation" in out:
            out["deformed"] = self.models.generator.warp(source, out["deformation"])
        return out


def _feature_shape(models):
    """(h, w, C) of ``generator.encode``: each down block halves the frame (floor),
    C is the last encoder block's width."""
    generator = models.generator
    height, width = models.config.dataset_params.frame_shape[:2]
    halvings = len(generator.down_blocks)
    channels = (generator.down_blocks or [generator.first])[-1].conv.filters
    return height >> halvings, width >> halvings, channels


def _numpy(tensors):
    if isinstance(tensors, dict):
        return {key: np.asarray(value) for key, value in tensors.items()}
    return np.asarray(tensors)
