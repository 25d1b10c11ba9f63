"""Where a frame's time goes: each stage timed alone, in Keras and through LiteRT.

    python -m export.stage_profile --config configs/vox-256.yaml --random_weights \
        --json stages.json

A frame, as the commands run it, is the driving keypoints, keypoint
normalisation and the generator on the cached source features (the source is
encoded once). Here each stage is its own
function of the previous stage's outputs on synthetic frames, timed in Keras
(``tf.function``) and, converted by ``export.converter`` as the exported files
are, through LiteRT (XNNPACK) in each ``--modes``. The models are prepared as
the exports are (``optimize_for_inference``). GFLOP are counted by the TF
profiler; the error is the max abs difference from the Keras stage output.
Keypoint normalisation (a few hundred FLOPs) is left out.
"""

import numpy as np
import tensorflow as tf
from absl import flags
from ai_edge_litert.interpreter import Interpreter

from export import converter, frames, graphs
from export.benchmark import (
    benchmark_models,
    define_benchmark_flags,
    graph_flops,
    median_ms,
    timing,
)
from export.spec import ExportSpec
from fomm_tf import cli
from fomm_tf.benchmarks import write_json
from fomm_tf.cli import errors_as_exit
from fomm_tf.inference.inference_transforms import optimize_for_inference

STAGE_MODES = ("float32", "float16", "dynamic_int8")  # static_int8 needs calibration


def _stage(body, inputs):
    """``tf.function`` of ``body(**tensors)`` whose signature names ``inputs``."""
    names = list(inputs)
    signature = [
        tf.TensorSpec(np.shape(value), tf.float32, name=name)
        for name, value in inputs.items()
    ]

    def positional(*tensors):
        return body(**dict(zip(names, tensors, strict=True)))

    return tf.function(positional, input_signature=signature, autograph=False)


def _keypoint_inputs(prefix, kp):
    """``{<prefix>_value: ..., <prefix>_jacobian: ...}`` of an exported kp dict."""
    return {f"{prefix}_{key[3:]}": value for key, value in kp.items()}


def _keypoints_of(named, prefix):
    jacobian = named.get(f"{prefix}_jacobian")
    return graphs.keypoint_dict(named[f"{prefix}_value"], jacobian)


def stages(models, spec):
    """``[(stage name, tf.function, {input name: array})]`` of one frame, each
    stage fed the previous stages' Keras outputs."""
    detector, generator = models.kp_detector, models.generator
    clip = frames.synthetic_frames(2, spec.height, spec.width, seed=21)
    source, driving = clip[:1], clip[1:]
    result = []

    def add(name, body, inputs):
        function = _stage(body, inputs)
        result.append((name, function, inputs))
        return _numpy(function(*inputs.values()))

    def keypoints(image):
        return graphs.keypoints(detector, image)

    kp_source = _numpy(keypoints(tf.constant(source)))
    kp_driving = add("keypoints", keypoints, {"image": driving})

    def dense_motion(source, **kp):
        motion = generator.dense_motion_network(
            source,
            _keypoints_of(kp, "driving"),
            _keypoints_of(kp, "source"),
            training=False,
        )
        return {key: motion[key] for key in ("deformation", "occlusion_map")}

    motion = add(
        "dense_motion",
        dense_motion,
        {
            "source": source,
            **_keypoint_inputs("driving", kp_driving),
            **_keypoint_inputs("source", kp_source),
        },
    )
    features = generator.encode(tf.constant(source), training=False).numpy()
    warped = add(
        "warp",
        lambda features, **motion: generator.apply_motion(features, motion),
        {"features": features, **motion},
    )
    bottled = add(
        "bottleneck",
        lambda features: _chain(generator.bottleneck, features),
        {"features": warped},
    )
    upsampled = add(
        "up_blocks",
        lambda features: _chain(generator.up_blocks, features),
        {"features": bottled},
    )
    add(
        "final",
        lambda features: tf.sigmoid(generator.final(features)),
        {"features": upsampled},
    )
    return result


def _chain(blocks, tensor):
    for block in blocks:
        tensor = block(tensor, training=False)
    return tensor


def _numpy(outputs):
    return tf.nest.map_structure(lambda tensor: tensor.numpy(), outputs)


def _max_abs(reference, other):
    pairs = zip(tf.nest.flatten(reference), tf.nest.flatten(other), strict=True)
    return max(float(np.max(np.abs(a - b))) for a, b in pairs)


def litert_row(function, name, inputs, mode, threads, reference, calls):
    """``{"ms", "max_abs"}`` of the stage converted in ``mode``."""
    model = converter.convert(function, name, mode)
    interpreter = Interpreter(model_content=model, num_threads=threads)
    runner = interpreter.get_signature_runner(name)
    outputs = runner(**inputs)
    if not isinstance(reference, dict):
        (outputs,) = outputs.values()
    else:
        outputs = {key: outputs[key] for key in reference}
    return {
        "ms": median_ms(lambda: runner(**inputs), *calls),
        "max_abs": _max_abs(reference, outputs),
    }


def stage_row(function, name, inputs, modes, threads, calls):
    """GFLOP, Keras ms and LiteRT ``{mode: {ms, max_abs}}`` of one stage."""
    values = list(inputs.values())
    reference = _numpy(function(*values))
    return {
        "gflop": graph_flops(function.get_concrete_function()) / 1e9,
        "keras_ms": median_ms(lambda: _numpy(function(*values)), *calls),
        "litert": {
            mode: litert_row(function, name, inputs, mode, threads, reference, calls)
            for mode in modes
        },
    }


def run(models, weights, modes, threads, quick):
    """Profile dict: one entry per stage (GFLOP, Keras ms, LiteRT per mode)."""
    optimize_for_inference(models)
    spec = ExportSpec.from_models(models)
    calls = timing(quick)  # (warm-up, repeats)
    return {
        "frame_shape": [spec.height, spec.width, spec.channels],
        "weights": weights,
        "threads": threads,
        "repeats": calls[1],
        "modes": list(modes),
        "stages": {
            name: stage_row(function, name, inputs, modes, threads, calls)
            for name, function, inputs in stages(models, spec)
        },
    }


def table(result):
    modes = result["modes"]
    lines = [
        f"per-stage latency (ms), frame {result['frame_shape']}, weights "
        f"{result['weights']}, {result['threads']} threads, median of "
        f"{result['repeats']}",
        f"{'stage':<14}{'GFLOP':>8}{'keras':>9}" + "".join(f"{m:>14}" for m in modes),
    ]
    stage_rows = result["stages"].items()
    for name, row in stage_rows:
        litert = "".join(f"{row['litert'][m]['ms']:>14.1f}" for m in modes)
        lines.append(f"{name:<14}{row['gflop']:>8.2f}{row['keras_ms']:>9.1f}{litert}")
    rows = result["stages"].values()
    totals = "".join(
        f"{sum(row['litert'][m]['ms'] for row in rows):>14.1f}" for m in modes
    )
    lines.append(
        f"{'sum':<14}{sum(r['gflop'] for r in rows):>8.2f}"
        f"{sum(r['keras_ms'] for r in rows):>9.1f}{totals}"
    )
    return "\n".join(lines)


def define_flags():
    define_benchmark_flags("stage_profile.json")
    flags.DEFINE_multi_enum(
        "modes", ["float32", "dynamic_int8"], STAGE_MODES, "LiteRT modes to time"
    )


def main(argv):
    del argv
    options = flags.FLAGS
    with errors_as_exit("export.stage_profile"):
        models, weights = benchmark_models(options)
        result = run(models, weights, options.modes, options.threads, options.quick)
        write_json(options.json, result)
    print(table(result))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
