"""TFLite export: keypoint detector + generator files per quantization mode.

Writes ``OUT/<mode>/`` (atomically: a temporary sibling renamed at the end) with
``keypoint_detector.tflite``, ``source_encoder.tflite`` + ``frame_generator.tflite``
(layout ``split``, default) or ``generator.tflite`` (layout ``single``) and
``model_card.json``. Every file passes the builtin-only check.

In the int8 modes the keypoint detector stays float32: its soft-argmax turns
8-bit errors into keypoint shifts (dynamic int8 moves them by up to ~0.005 of
the [-1, 1] range on trained weights and drops the perturbed fixture's frames
from 28.8 to 18 dB), and every keypoint error moves the whole animated face.

CLI::

    python -m export.tflite --config configs/vox-256.yaml --checkpoint vox.pth.tar \
        --out exported/vox --modes float32,float16,dynamic_int8,static_int8 \
        --calibration driving.mp4        # or --calibration synthetic
"""

from pathlib import Path

from absl import flags

from export import calibration, converter, frames, model_card
from export.builtin_check import check_builtin_only
from export.files import (
    atomic_directory,
    check_replaceable,
    check_writable_parent,
    recover,
)
from export.loading import define_model_flags, load_models
from export.signatures import LAYOUTS, model_functions
from export.spec import ExportSpec
from fomm_tf.cli import errors_as_exit, optional_bool, run
from fomm_tf.errors import ExportError
from fomm_tf.inference.inference_transforms import optimize_for_inference

MAX_CALIBRATION_FRAMES = 64
FLOAT_PARTS = {
    "static_int8": "keypoint detector (whole model), keypoint "
    "normalisation, dense motion heatmaps, sparse motions, masks and occlusion, "
    "grid-sample gathers, occlusion multiply",
    "dynamic_int8": "keypoint detector (whole model); activations are float",
}


def file_mode(model_name, mode):
    """Mode of one file: the keypoint detector stays float32 in int8 modes."""
    if model_name == "keypoint_detector" and mode in ("dynamic_int8", "static_int8"):
        return "float32"
    return mode


def check_request(modes, layout, calibration_frames):
    """Reject bad arguments before any conversion work."""
    if not modes:
        raise ExportError("no export mode given")
    for mode in modes:
        converter.check_mode(mode)
    if layout not in LAYOUTS:
        raise ExportError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    if "static_int8" in modes and calibration_frames is None:
        raise ExportError("static_int8 needs calibration frames (--calibration)")


CARD_NAME = "model_card.json"


def check_outputs(out_dir, modes):
    """Refuse, before any work, mode folders an export may not replace."""
    for mode in modes:
        check_writable_parent(Path(out_dir) / mode)
        recover(Path(out_dir) / mode)
        check_replaceable(Path(out_dir) / mode, CARD_NAME)


def export_tflite(
    models, out_dir, modes, layout="split", calibration_frames=None, weights="unknown"
):
    """Export every mode to ``out_dir/<mode>``; returns ``{mode: directory}``.

    ``models`` are changed for inference first (batch norm folded, sub-pixel up
    blocks: ``fomm_tf.inference.inference_transforms``)."""
    check_request(modes, layout, calibration_frames)
    out_dir = Path(out_dir)
    check_outputs(out_dir, modes)
    optimize_for_inference(models)
    spec = ExportSpec.from_models(models)
    functions = model_functions(models, spec, layout)
    samples = {}
    if "static_int8" in modes:
        samples = calibration.representative_inputs(
            models, spec, calibration_frames, list(functions)
        )
    converted = {}
    written = {}
    for mode in modes:
        with atomic_directory(out_dir / mode, CARD_NAME) as staging:
            entries = []
            for name, function in functions.items():
                key = (name, file_mode(name, mode))
                if key not in converted:
                    content = converter.convert(
                        function, name, key[1], samples.get(name)
                    )
                    check_builtin_only(content, name)
                    converted[key] = content
                (staging / f"{name}.tflite").write_bytes(converted[key])
                entries.append(
                    model_card.tflite_entry(converted[key], f"{name}.tflite", key[1])
                )
            model_card.write_card(
                staging / CARD_NAME,
                spec,
                mode,
                layout,
                entries,
                weights,
                FLOAT_PARTS.get(mode, "none"),
            )
        written[mode] = out_dir / mode
    return written


def calibration_frames_from(source, count, spec):
    """Frames for static-int8 calibration: ``synthetic`` or a video / image folder."""
    if not source:
        return None
    if source == "synthetic":
        return frames.synthetic_frames(count, spec.height, spec.width)
    return frames.load_frames(source, count, spec.height, spec.width)


def define_flags():
    """CLI flags (defined only when run as a script)."""
    define_model_flags()
    flags.DEFINE_string("out", None, "output directory (one sub-directory per mode)")
    flags.DEFINE_list("modes", ["float32"], f"modes among {', '.join(converter.MODES)}")
    flags.DEFINE_enum("layout", "split", LAYOUTS, "generator in one or two files")
    flags.DEFINE_string(
        "calibration", None, "static_int8 calibration: 'synthetic', a video or a folder"
    )
    flags.DEFINE_integer(
        "calibration_frames",
        16,
        "frames read for calibration (8 of them, spread out, calibrate)",
        lower_bound=1,
        upper_bound=MAX_CALIBRATION_FRAMES,
    )


def main(argv):
    del argv
    options = flags.FLAGS
    with errors_as_exit("export.tflite"):
        if not options.out:
            raise ExportError("--out is required")
        check_request(options.modes, options.layout, options.calibration)
        check_outputs(Path(options.out), options.modes)
        models, weights = load_models(
            options.config,
            options.checkpoint,
            options.random_weights,
            optional_bool(options.align_corners),
        )
        spec = ExportSpec.from_models(models)
        calib = calibration_frames_from(
            options.calibration, options.calibration_frames, spec
        )
        written = export_tflite(
            models, options.out, options.modes, options.layout, calib, weights
        )
    for mode, directory in written.items():
        print(f"{mode}: {directory}")


if __name__ == "__main__":
    define_flags()
    run(main)
