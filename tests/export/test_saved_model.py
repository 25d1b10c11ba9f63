"""SavedModel for TF Serving: signatures, parity with Keras, validation, CLI."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from export import ExportError, saved_model
from tests.harness import keras_frames, nhwc

# The console script installed with tensorflow, beside this interpreter.
SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"


@pytest.fixture(scope="module")
def exported(fixture_models, tmp_path_factory):
    base = tmp_path_factory.mktemp("serving")
    return saved_model.export_saved_model(fixture_models, base, "fomm", 3)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported))


def _animate_inputs(loaded, source, driving, flags):
    kp_source = loaded.signatures["keypoints"](images=tf.constant(source))
    kp_driving = loaded.signatures["keypoints"](images=tf.constant(driving[:1]))
    return {
        "source": tf.constant(source),
        "driving": tf.constant(driving),
        "kp_source_value": kp_source["kp_value"],
        "kp_source_jacobian": kp_source["kp_jacobian"],
        "kp_driving_initial_value": kp_driving["kp_value"],
        "kp_driving_initial_jacobian": kp_driving["kp_jacobian"],
        "normalization_flags": tf.constant(flags, tf.float32),
    }


def test_layout_and_signatures(exported, loaded):
    assert exported.parts[-2:] == ("fomm", "3")
    assert (exported / "saved_model.pb").is_file()
    assert set(loaded.signatures) == {"keypoints", "animate", "serving_default"}
    shown = subprocess.run(
        [str(SAVED_MODEL_CLI), "show", "--all", "--dir", str(exported)],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("keypoints", "animate", "serving_default"):
        assert f"signature_def['{name}']" in shown.stdout
    assert "inputs['normalization_flags']" in shown.stdout
    assert "shape: (-1, 256, 256, 3)" in shown.stdout


@pytest.mark.slow
def test_keypoints_and_animate_match_keras(fixture_models, loaded, reference_io):
    source = nhwc(reference_io["source"])
    driving = nhwc(reference_io["driving"])
    flags = (1.0, 1.0, 1.0)
    expected, _, kp_driving = keras_frames(fixture_models, source, driving, flags)
    detected = loaded.signatures["keypoints"](images=tf.constant(driving))
    np.testing.assert_allclose(detected["kp_value"], kp_driving["value"], atol=1e-4)
    np.testing.assert_allclose(
        detected["kp_jacobian"], kp_driving["jacobian"], atol=1e-4
    )
    inputs = _animate_inputs(loaded, source, driving, flags)
    frames = loaded.signatures["serving_default"](**inputs)["prediction"]
    assert frames.shape == driving.shape
    np.testing.assert_allclose(frames, expected, atol=2e-3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"driving": 1.5}, "driving must be <= 1"),
        ({"normalization_flags": 0.5}, "normalization_flags must be 0 or 1"),
        ({"kp_source_value": np.nan}, "kp_source_value must be finite"),
    ],
)
def test_bad_requests_fail_with_clear_errors(loaded, reference_io, change, message):
    source = nhwc(reference_io["source"])
    inputs = _animate_inputs(
        loaded, source, nhwc(reference_io["driving"])[:2], (1.0, 1.0, 0.0)
    )
    ((name, value),) = change.items()
    inputs[name] = tf.fill(tf.shape(inputs[name]), value)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["animate"](**inputs)


def test_batch_mismatch_is_rejected(loaded, reference_io):
    driving = nhwc(reference_io["driving"])
    inputs = _animate_inputs(
        loaded, nhwc(reference_io["source"]), driving[:3], (1.0, 1.0, 0.0)
    )
    inputs["source"] = tf.constant(driving[:2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="source batch"):
        loaded.signatures["animate"](**inputs)
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        loaded.signatures["keypoints"](images=tf.zeros((1, 64, 64, 3)))


def test_predict_request_for_tf_serving(loaded, reference_io):
    predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2")
    source = nhwc(reference_io["source"])
    inputs = _animate_inputs(
        loaded, source, nhwc(reference_io["driving"])[:2], (1.0, 1.0, 0.0)
    )
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "fomm"
    request.model_spec.signature_name = "animate"
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    parsed = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    signature_inputs = loaded.signatures["animate"].structured_input_signature[1]
    assert set(parsed.inputs) == set(signature_inputs)
    restored = tf.make_ndarray(parsed.inputs["driving"])
    np.testing.assert_array_equal(restored, inputs["driving"].numpy())


def test_bad_exporter_arguments(fixture_models, tmp_path):
    with pytest.raises(ExportError, match="version"):
        saved_model.export_saved_model(fixture_models, tmp_path, "fomm", 0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot create output directory"):
        saved_model.export_saved_model(fixture_models, blocker, "fomm", 1)
