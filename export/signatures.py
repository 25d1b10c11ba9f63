"""The TFLite models of an export as concrete functions with named tensors.

Batch 1 and the config's frame size are fixed (what a phone app runs):

- ``keypoint_detector``: ``image`` -> ``kp_value``, ``kp_jacobian``.
- ``generator`` (layout ``single``): ``source``, ``kp_source_*``,
  ``kp_driving_*``, ``kp_driving_initial_*``, ``normalization_flags`` ->
  ``prediction``.
- ``source_encoder`` + ``frame_generator`` (layout ``split``): the generator's
  encoder runs once per source image (``source`` -> ``source_features``) and the
  per-frame model takes ``source_features`` besides the inputs above.
"""

import tensorflow as tf

from export import graphs
from fomm_tf.errors import ExportError
from fomm_tf.inference.litert_runner import LAYOUT_MODELS

LAYOUTS = tuple(LAYOUT_MODELS)


def model_functions(models, spec, layout="split", batch=1):
    """``{model name: tf.function}`` with input signatures for one layout."""
    if layout not in LAYOUTS:
        raise ExportError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    functions = {"keypoint_detector": keypoint_function(models, spec, batch)}
    if layout == "single":
        functions["generator"] = generator_function(models, spec, batch)
    else:
        functions["source_encoder"] = encoder_function(models, spec, batch)
        functions["frame_generator"] = frame_function(models, spec, batch)
    return functions


def keypoint_function(models, spec, batch):
    def keypoint_detector(image):
        return graphs.keypoints(models.kp_detector, image)

    return tf.function(keypoint_detector, input_signature=[spec.image("image", batch)])


def _keypoint_inputs(spec, batch):
    return [
        *spec.keypoints("kp_source", batch),
        *spec.keypoints("kp_driving", batch),
        *spec.keypoints("kp_driving_initial", batch),
    ]


def split_keypoints(spec, tensors):
    """Flat keypoint inputs -> (kp_source, kp_driving, kp_driving_initial) dicts."""
    per = 2 if spec.has_jacobian else 1
    return [graphs.keypoint_dict(*tensors[i * per : (i + 1) * per]) for i in range(3)]


def generator_function(models, spec, batch):
    def generator(source, *inputs):
        *kp_tensors, flags = inputs
        kps = split_keypoints(spec, kp_tensors)
        frame = graphs.prediction(models.generator, source, *kps, flags)
        return {"prediction": frame}

    signature = [
        spec.image("source", batch),
        *_keypoint_inputs(spec, batch),
        spec.flags(),
    ]
    return tf.function(generator, input_signature=signature)


def encoder_function(models, spec, batch):
    def source_encoder(source):
        return {"source_features": models.generator.encode(source, training=False)}

    return tf.function(source_encoder, input_signature=[spec.image("source", batch)])


def frame_function(models, spec, batch):
    def frame_generator(source, source_features, *inputs):
        *kp_tensors, flags = inputs
        kps = split_keypoints(spec, kp_tensors)
        frame = graphs.prediction(
            models.generator, source, *kps, flags, source_features=source_features
        )
        return {"prediction": frame}

    signature = [
        spec.image("source", batch),
        spec.features(batch),
        *_keypoint_inputs(spec, batch),
        spec.flags(),
    ]
    return tf.function(frame_generator, input_signature=signature)
