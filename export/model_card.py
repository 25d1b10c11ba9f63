"""JSON model card written beside the exported files."""

import json

from ai_edge_litert.interpreter import Interpreter

from fomm_tf.inference.normalization_switches import FLAG_NAMES

KEYPOINT_CONVENTION = (
    "(x, y) in [-1, 1]; -1 and +1 are the centres of the first and last pixel "
    "(official make_coordinate_grid); jacobian[k] = [[dx/du, dx/dv], [dy/du, dy/dv]] "
    "row-major, the local affine of keypoint k (paper eq. 4)"
)

_TENSOR_NOTES = {
    "image": ("NHWC RGB", "[0, 1]", "frame to detect keypoints on"),
    "source": ("NHWC RGB", "[0, 1]", "source image to animate"),
    "prediction": ("NHWC RGB", "[0, 1]", "animated frame"),
    "source_features": (
        "NHWC",
        "unbounded",
        "generator.encode(source); cache per source",
    ),
    "normalization_flags": (
        "vector",
        "{0, 1}",
        "float 0/1 flags: " + ", ".join(FLAG_NAMES),
    ),
}


def _notes(name):
    if name in _TENSOR_NOTES:
        return _TENSOR_NOTES[name]
    if name.endswith("value"):
        return ("(batch, K, xy)", "[-1, 1]", f"{name.removesuffix('_value')} keypoints")
    if name.endswith("jacobian"):
        return (
            "(batch, K, 2, 2)",
            "unbounded",
            f"{name.removesuffix('_jacobian')} jacobians",
        )
    return ("", "", "")


def _describe(details):
    described = []
    for name, detail in sorted(details.items()):
        layout, value_range, meaning = _notes(name)
        described.append(
            {
                "name": name,
                "shape": [int(d) for d in detail["shape"]],
                "dtype": detail["dtype"].__name__,
                "layout": layout,
                "range": value_range,
                "meaning": meaning,
            }
        )
    return described


def tflite_entry(model_bytes, file_name, mode):
    """Card entry of one ``.tflite``: its signature's inputs and outputs."""
    interpreter = Interpreter(model_content=bytes(model_bytes))
    (key,) = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(key)
    return {
        "file": file_name,
        "signature": key,
        "mode": mode,
        "size_bytes": len(model_bytes),
        "inputs": _describe(runner.get_input_details()),
        "outputs": _describe(runner.get_output_details()),
    }


def write_card(path, spec, mode, layout, entries, weights, float_parts):
    """Write the card JSON for one exported mode directory."""
    card = {
        "format": "fomm-tf tflite export",
        "mode": mode,
        "layout": layout,
        "frame_shape": [spec.height, spec.width, spec.channels],
        "num_kp": spec.num_kp,
        "align_corners": spec.align_corners,
        "keypoint_convention": KEYPOINT_CONVENTION,
        "normalization_flags": {
            "order": list(FLAG_NAMES),
            "config_default": list(spec.default_flags),
        },
        "weights": weights,
        "kept_in_float": float_parts,
        "models": entries,
    }
    with open(path, "w") as handle:
        json.dump(card, handle, indent=2)
