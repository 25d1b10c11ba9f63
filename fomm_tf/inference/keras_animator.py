"""The Keras backend of ``fomm_tf.animation``: the models as ``tf.function`` graphs."""

import numpy as np
import tensorflow as tf

from fomm_tf.inference.frame import animate_frame
from fomm_tf.inference.keypoint_normalization import (
    FLAG_NAMES,
    flags_from_keywords,
    keywords,
)


class KerasAnimator:
    """``fomm_tf.animation.Animator`` over ``FommModels``.

    A chunk of frames is one ``tf.function`` call (keypoint normalisation,
    dense motion, warp, decode: ``inference.frame.animate_frame``) with a fixed
    input signature (batch size free, so one trace serves every chunk).
    """

    def __init__(self, models):
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
        signature = [frames, kp, kp, kp, flags]
        self._keypoints = tf.function(self._detect, input_signature=[frames])
        self._predictions = tf.function(self._predict, input_signature=signature)
        self._outputs = tf.function(self._frame_outputs, input_signature=signature)

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
        return self._predictions(inputs[0], kp_source, *inputs[1:]).numpy()

    def frame_outputs(
        self, source, kp_source, kp_driving, kp_driving_initial=None, flags=None
    ):
        """As :meth:`generate`, with every output of ``animate_frame`` and the
        source warped by the deformation (``deformed``), as numpy arrays."""
        inputs = self._inputs(source, kp_driving, kp_driving_initial, flags)
        out = self._outputs(inputs[0], kp_source, *inputs[1:])
        return {key: _numpy(value) for key, value in out.items()}

    def _inputs(self, source, kp_driving, kp_driving_initial, flags):
        if kp_driving_initial is None:
            kp_driving_initial = {key: value[:1] for key, value in kp_driving.items()}
            flags = np.zeros(len(FLAG_NAMES), np.float32)
        if flags is None:
            flags = self.default_flags
        flags = np.asarray(flags, np.float32)
        return np.asarray(source, np.float32), kp_driving, kp_driving_initial, flags

    def _detect(self, frames):
        return self.models.kp_detector(frames, training=False)

    def _frames(self, source, kp_source, kp_driving, kp_driving_initial, flags):
        """``animate_frame`` for B driving keypoints; the source (batch 1) is
        encoded once and tiled with its keypoints and features."""
        batch = tf.shape(kp_driving["value"])[0]
        generator = self.models.generator
        features = generator.encode(source, training=False)
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


def _numpy(tensors):
    if isinstance(tensors, dict):
        return {key: np.asarray(value) for key, value in tensors.items()}
    return np.asarray(tensors)
