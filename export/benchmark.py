"""Per-frame latency, size, GFLOP/s and error of every backend and export mode.

A "frame" is what animation costs per driving frame: keypoints of the driving
frame, keypoint normalisation, generator (source keypoints and, for the split
TFLite layout, source features are computed once per source and not timed).

    python -m export.benchmark --config configs/vox-256.yaml --json bench.json
    python -m export.benchmark --config FIXTURES/vox_small.yaml \
        --checkpoint FIXTURES/vox_small.pth.tar --quick

Prints a table and writes JSON. Errors are against the float32 Keras frames on
synthetic smooth-blob frames (max abs, mean abs, PSNR in dB).
"""

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from absl import flags
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2_as_graph,
)

from export import converter, frames, graphs, tflite
from export.loading import define_model_flags, load_models
from export.spec import ExportSpec
from fomm_tf import cli
from fomm_tf.benchmarks import write_json
from fomm_tf.cli import errors_as_exit, optional_bool
from fomm_tf.inference.litert_runner import LiteRTRunner


def median_ms(step, warmup, repeats):
    """Median wall time of ``step()`` in milliseconds after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def error_stats(reference, other):
    diff = np.abs(reference - other)
    mse = float(np.mean(diff**2))
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "psnr_db": float(10 * np.log10(1.0 / max(mse, 1e-20))),
    }


def keras_step(models, source, flags):
    """Per-frame Keras computation as a Python function of one driving frame."""
    kp_source = graphs.keypoints(models.kp_detector, source)
    kp_source = graphs.keypoint_dict(*_ordered(kp_source))

    def step(driving, kp_initial):
        kp_driving = graphs.keypoint_dict(
            *_ordered(graphs.keypoints(models.kp_detector, driving))
        )
        return graphs.prediction(
            models.generator, source, kp_source, kp_driving, kp_initial, flags
        )

    return step


def _ordered(kp):
    return [kp[key] for key in ("kp_value", "kp_jacobian") if key in kp]


def per_frame_flops(models, spec, source):
    """FLOPs of one frame (keypoints + generator) counted by the TF profiler."""
    kp_initial = graphs.keypoint_dict(
        *_ordered(graphs.keypoints(models.kp_detector, source))
    )
    flags = tf.constant(spec.default_flags)
    step = keras_step(models, source, flags)
    function = tf.function(lambda driving: step(driving, kp_initial))
    return graph_flops(function.get_concrete_function(spec.image("driving", 1)))


def graph_flops(concrete):
    """FLOPs of a concrete function (weights frozen) counted by the TF profiler."""
    _, graph_def = convert_variables_to_constants_v2_as_graph(concrete)
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options)
    return int(profile.total_float_ops)


def keras_rows(models, spec, source, driving, warmup, repeats):
    """Latency and frames of Keras eager, tf.function and XLA."""
    flags = tf.constant(spec.default_flags)
    kp_initial = graphs.keypoint_dict(
        *_ordered(graphs.keypoints(models.kp_detector, driving[:1]))
    )
    step = keras_step(models, tf.constant(source), flags)
    variants = {
        "keras_eager": step,
        "tf_function": tf.function(step),
        "xla_jit": tf.function(step, jit_compile=True),
    }
    rows, reference = {}, None
    for name, function in variants.items():
        frame = tf.constant(driving[1:2])
        latency = median_ms(
            lambda f=function, x=frame: f(x, kp_initial).numpy(), warmup, repeats
        )
        outputs = np.concatenate(
            [function(tf.constant(d[None]), kp_initial).numpy() for d in driving]
        )
        if reference is None:
            reference = outputs
        rows[name] = {
            "latency_ms": latency,
            "size_bytes": None,
            "error": error_stats(reference, outputs),
        }
    return rows, reference


def tflite_rows(exports, source, driving, reference, warmup, repeats, threads):
    """Latency, file size and error of every exported mode (LiteRT, XNNPACK)."""
    rows = {}
    for name, directory in exports.items():
        runner = LiteRTRunner(directory, num_threads=threads)
        kp_source = runner.keypoints(source)
        kp_driving = runner.keypoints(driving)
        initial = {k: v[:1] for k, v in kp_driving.items()}

        def step(r=runner, ks=kp_source, ki=initial):
            kp = r.keypoints(driving[1:2])
            return r.generate(source, ks, kp, ki)

        latency = median_ms(step, warmup, repeats)
        outputs = runner.generate(source, kp_source, kp_driving, initial)
        size = sum(p.stat().st_size for p in Path(directory).glob("*.tflite"))
        rows[f"tflite_{name}"] = {
            "latency_ms": latency,
            "size_bytes": size,
            "error": error_stats(reference, outputs),
        }
    return rows


def run(models, weights, quick, threads, workdir):
    """Benchmark dict: config info, FLOPs and one row per backend / mode."""
    spec = ExportSpec.from_models(models)
    warmup, repeats = timing(quick)
    clip = frames.synthetic_frames(6, spec.height, spec.width, seed=21)
    source, driving = clip[:1], clip
    calibration = frames.synthetic_frames(16, spec.height, spec.width, seed=5)
    exports = tflite.export_tflite(
        models,
        workdir / "split",
        list(converter.MODES),
        calibration_frames=calibration,
        weights=weights,
    )
    single = tflite.export_tflite(
        models, workdir / "single", ["float32"], layout="single", weights=weights
    )
    exports = {**exports, "float32_single_layout": single["float32"]}
    flops = per_frame_flops(models, spec, tf.constant(source))
    rows, reference = keras_rows(models, spec, source, driving, warmup, repeats)
    rows.update(
        tflite_rows(exports, source, driving, reference, warmup, repeats, threads)
    )
    for row in rows.values():
        row["gflops_per_s"] = flops / row["latency_ms"] / 1e6
    return {
        "frame_shape": [spec.height, spec.width, spec.channels],
        "weights": weights,
        "threads": threads,
        "repeats": repeats,
        "flops_per_frame": flops,
        "rows": rows,
    }


def table(result):
    lines = [
        f"per-frame latency, frame {result['frame_shape']}, weights "
        f"{result['weights']}, {result['threads']} threads, median of "
        f"{result['repeats']}; {result['flops_per_frame'] / 1e9:.2f} GFLOP/frame",
        f"{'backend':<30}{'ms':>9}{'GFLOP/s':>9}{'MB':>8}"
        f"{'max abs':>10}{'mean abs':>10}{'PSNR':>7}",
    ]
    for name, row in result["rows"].items():
        size = "-" if row["size_bytes"] is None else f"{row['size_bytes'] / 1e6:.2f}"
        err = row["error"]
        lines.append(
            f"{name:<30}{row['latency_ms']:>9.1f}{row['gflops_per_s']:>9.1f}"
            f"{size:>8}{err['max_abs']:>10.2e}{err['mean_abs']:>10.2e}"
            f"{min(err['psnr_db'], 999):>7.1f}"
        )
    return "\n".join(lines)


def define_benchmark_flags(json_default):
    """The model flags, ``--quick``, ``--threads`` and ``--json`` (also those of
    ``export.stage_profile``)."""
    define_model_flags()
    flags.DEFINE_bool("quick", False, "3 repetitions after 1 warm-up (else 10 / 2)")
    flags.DEFINE_integer(
        "threads", 2, "CPU threads for TF and LiteRT", lower_bound=1, upper_bound=256
    )
    flags.DEFINE_string("json", json_default, "where to write the JSON")


def timing(quick):
    """(warm-up calls, timed repeats) of ``median_ms`` for ``--quick``."""
    return (1, 3) if quick else (2, 10)


def benchmark_models(options):
    """TensorFlow on ``--threads``, then ``(models, weights)`` of the model
    flags: the checkpoint, else random weights (vox-256 without ``--config``)."""
    tf.config.threading.set_intra_op_parallelism_threads(options.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    config = options.config or "configs/vox-256.yaml"
    random = options.random_weights or not options.checkpoint
    return load_models(
        config, options.checkpoint, random, optional_bool(options.align_corners)
    )


def define_flags():
    define_benchmark_flags("export_benchmark.json")


def main(argv):
    del argv
    options = flags.FLAGS
    with errors_as_exit("export.benchmark"):
        models, weights = benchmark_models(options)
        with tempfile.TemporaryDirectory() as workdir:
            result = run(models, weights, options.quick, options.threads, Path(workdir))
        write_json(options.json, result)
    print(table(result))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
