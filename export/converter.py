"""One concrete function -> ``.tflite`` bytes in one quantization mode.

Modes:

- ``float32``: no quantization.
- ``float16``: weights stored as float16, dequantized at load (XNNPACK runs fp32).
- ``dynamic_int8``: int8 weights, activations quantized on the fly per op.
- ``static_int8``: int8 weights and activations whose ranges are fixed by a
  calibration pass over representative inputs (static-range quantization;
  named ``full_int8`` until it measured slower than ``dynamic_int8`` and no
  smaller, because it is not all int8): every op under ``FLOAT_SCOPE`` (keypoint
  normalisation, dense motion heatmaps, sparse motions, masks, grid-sample
  gathers, occlusion) stays float32, because 8-bit sampling coordinates would
  move pixels by whole grid steps, except the dense motion network's hourglass
  (``INT8_IN_FLOAT_SCOPE``): a feature network like the decoder, with nearly
  all of the dense motion weights and 90% of its FLOPs. Inputs and outputs stay float32.

Only ``TFLITE_BUILTINS`` (plus ``TFLITE_BUILTINS_INT8`` for static int8) are
allowed, so conversion fails rather than emitting Flex ops.
"""

import tempfile

import numpy as np
import tensorflow as tf
from ai_edge_litert import (
    _pywrap_tensorflow_lite_calibration_wrapper as calibration_wrapper,
)
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils
from tensorflow.lite.python import convert as lite_convert
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
)

from fomm_tf.errors import ExportError
from fomm_tf.inference.frame import FLOAT_SCOPE

MODES = ("float32", "float16", "dynamic_int8", "static_int8")
INT8_IN_FLOAT_SCOPE = "/hourglass"


def check_mode(mode):
    if mode not in MODES:
        raise ExportError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")


def convert(function, name, mode, representative_inputs=None):
    """TFLite bytes of ``function`` (a tf.function with an input signature).

    ``representative_inputs``: list of ``{input name: array}`` for static int8.
    The signature key of the result is ``name``.
    """
    check_mode(mode)
    if mode == "static_int8" and not representative_inputs:
        raise ExportError("static_int8 needs calibration data (representative frames)")
    with tempfile.TemporaryDirectory() as saved_dir:
        _save_frozen(function, name, saved_dir)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved_dir, signature_keys=[name]
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        model = converter.convert()
    if mode == "static_int8":
        model = _static_int8(model, name, representative_inputs)
    return model


def _save_frozen(function, name, saved_dir):
    """SavedModel of ``function`` with its weights as constants.

    Freezing first matters: the converter leaves the Keras variables of a module
    as resource variables (READ_VARIABLE ops with no initializer in the file).
    """
    concrete = function.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)

    def named_outputs(*args):
        return tf.nest.pack_sequence_as(concrete.structured_outputs, frozen(*args))

    holder = tf.Module()
    holder.function = tf.function(
        named_outputs, input_signature=function.input_signature
    )
    signature = holder.function.get_concrete_function()
    tf.saved_model.save(holder, saved_dir, signatures={name: signature})


def _static_int8(float_model, name, representative_inputs):
    """Calibrate the float model, then quantize every op outside ``FLOAT_SCOPE``.

    This is what ``tf.lite.experimental.QuantizationDebugger`` does for selective
    quantization (calibrate, then ``mlir_quantize`` with a node denylist); it
    calibrates with LiteRT's kernels because TF 2.21's calibration kernels reject
    the 6-D strided slice of the dense motion jacobians (``STRIDED_SLICE``
    "only supports 1D-5D input arrays").
    """
    calibrated = calibrate(float_model, name, representative_inputs)
    return lite_convert.mlir_quantize(
        calibrated, denylisted_nodes=float_scope_tensors(calibrated)
    )


def calibrate(float_model, name, representative_inputs):
    """Float model with min/max statistics of every tensor over the inputs."""
    wrapper = calibration_wrapper.CalibrationWrapper(bytes(float_model), [], [])
    runner = Interpreter(model_content=bytes(float_model)).get_signature_runner(name)
    order = sorted(runner.get_input_details().items(), key=lambda kv: kv[1]["index"])
    for index, sample in enumerate(representative_inputs):
        arrays = [np.asarray(sample[key]) for key, _ in order]
        if index == 0:
            wrapper.Prepare([list(array.shape) for array in arrays], name)
        wrapper.FeedTensor(arrays, name)
    return wrapper.Calibrate()


def float_scope_tensors(model_bytes):
    """Names of the tensors produced under ``FLOAT_SCOPE`` but not under
    ``INT8_IN_FLOAT_SCOPE`` (the float denylist)."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    names = []
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            for index in op.outputs:
                tensor_name = subgraph.tensors[index].name
                tensor_name = (
                    tensor_name.decode()
                    if isinstance(tensor_name, bytes)
                    else tensor_name
                )
                if (
                    FLOAT_SCOPE in tensor_name
                    and INT8_IN_FLOAT_SCOPE not in tensor_name
                ):
                    names.append(tensor_name)
    return names
