"""Speed against the official PyTorch code: per frame, whole command, memory.

    python -m fomm_tf.benchmarks.speed --json speed.json [--workdir DIR]

One frame = driving keypoints + keypoint normalisation + generator, the source's
keypoints and features computed once (``bash ../shared/tools/official_speed/
run.sh``, which times the official modules, measures the same). Rounds are
interleaved, official then ours (A B A B ...), on ``--threads`` threads; each
figure is the median of the round medians and is quoted as a ratio to the
official median of the same run, because the machines here are shared and
noisy.

Ours: ``KerasAnimator`` at batch 1 and at the CLI's batch 4 (also with the
decoder in bfloat16, ``--precision bfloat16``, where the CPU has bfloat16
instructions), and every
``python -m export.tflite`` mode through LiteRT. Models: vox-256
(``configs/vox-256.yaml``) with random weights for time; PSNR of every path
against the Keras float32 frames on vox-256 and on trained or non-trivial
weights (the bundled model; ``--fixture`` ``vox_small``). Commands: wall time,
time to the first written chunk and peak RSS of ``python -m fomm_tf.animate`` on
a ``--clip_frames`` clip, against the official loop (``run.sh --frames N``:
torch import, model build, N frames; no video decoding or encoding).

The exports are made by the ``export.tflite`` command (``fomm_tf`` never imports
``export``) and kept in ``--workdir`` for the next run.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import flags

from fomm_tf import cli, video_io
from fomm_tf.animation import ASSETS_DIR, DEFAULT_CHECKPOINT, SAMPLE_DRIVING
from fomm_tf.benchmarks import report
from fomm_tf.inference.precision import has_bfloat16_instructions

FLAGS = flags.FLAGS
REPO = Path(__file__).resolve().parents[2]
OFFICIAL_TOOL = REPO.parent / "shared" / "tools" / "official_speed" / "run.sh"
FIXTURE = REPO.parent / "shared" / "fixtures" / "fomm_reference"
VOX_CONFIG = REPO / "configs" / "vox-256.yaml"
MODES = ("float32", "float16", "dynamic_int8", "static_int8")
BF16 = "bfloat16"  # the Keras backend's opt-in decoder precision
GOALS = {"tflite_ms": 66.0, "psnr_db": 35.0, "keras_ratio": 0.5,
         "first_frame_s": 3.0}  # fmt: skip


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_string("workdir", None, "Keeps the models, exports and clip.")
    flags.DEFINE_integer(
        "rounds",
        3,
        "Interleaved rounds (official, ours).",
        lower_bound=1,
        upper_bound=100,
    )
    flags.DEFINE_integer(
        "frames",
        8,
        "Frames timed per path and round.",
        lower_bound=1,
        upper_bound=1000,
    )
    flags.DEFINE_integer(
        "threads",
        2,
        "CPU threads of every implementation.",
        lower_bound=1,
        upper_bound=256,
    )
    flags.DEFINE_integer(
        "clip_frames",
        40,
        "Frames of the command-line clip.",
        lower_bound=1,
        upper_bound=10_000,
    )
    flags.DEFINE_enum("cli_mode", "dynamic_int8", MODES, "TFLite mode of the CLI row.")
    flags.DEFINE_string("json", "speed.json", "Where to write the results.")


# Runs argv[2:] and writes its peak RSS (KiB) to argv[1]. A child of this small
# process starts from its small memory map; a child forked from the benchmark
# would report the benchmark's own peak (Linux keeps ru_maxrss across exec).
PEAK_RSS_LAUNCHER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "open(sys.argv[1], 'w').write(str(peak)); sys.exit(code)"
)


def run_logged(command, log_path, env=None):
    """Runs ``command``; wall seconds, seconds to the first progress update on
    stderr (None without one) and its peak RSS in MiB."""
    peak_path = f"{log_path}.peak_kib"
    launcher = [sys.executable, "-c", PEAK_RSS_LAUNCHER, peak_path, *command]
    start = time.perf_counter()
    first, output = None, b""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            launcher, stdout=log, stderr=subprocess.PIPE, env=env, cwd=REPO
        )
        while chunk := os.read(process.stderr.fileno(), 4096):
            output += chunk
            if first is None and b" frames, " in output:
                first = time.perf_counter() - start
        process.wait()
    wall = time.perf_counter() - start
    Path(f"{log_path}.stderr").write_bytes(output)
    if process.returncode:
        raise RuntimeError(f"{command[:3]} failed, see {log_path}.stderr")
    peak = int(Path(peak_path).read_text()) / 1024
    return {"wall_s": wall, "first_frame_s": first, "peak_rss_mib": peak}


def official(frames, threads, log_path):
    """The official tool's one JSON line, with its wall time and peak RSS."""
    command = ["bash", str(OFFICIAL_TOOL), "--frames", str(frames),
               "--threads", str(threads)]  # fmt: skip
    measured = run_logged(command, log_path)
    lines = Path(log_path).read_text().strip().splitlines()
    return {**json.loads(lines[-1]), **measured}


def python_module(module, *arguments):
    return [sys.executable, "-m", module, *arguments]


def quiet_env(threads):
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                TF_NUM_INTRAOP_THREADS=str(threads))  # fmt: skip


def export_modes(checkpoint, out, config=None):
    """``{mode: directory}``, exported by the ``export.tflite`` command if
    missing (synthetic calibration frames for static int8)."""
    out = Path(out)
    missing = [mode for mode in MODES if not (out / mode / "model_card.json").exists()]
    if missing:
        command = python_module(
            "export.tflite", f"--checkpoint={checkpoint}", f"--out={out}",
            f"--modes={','.join(missing)}", "--calibration=synthetic",
        )  # fmt: skip
        if config:
            command.append(f"--config={config}")
        subprocess.run(command, check=True, cwd=REPO, env=quiet_env(2),
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return {mode: out / mode for mode in MODES}


def random_vox(workdir):
    """vox-256 with random weights (seed 0) as a ``.keras`` file."""
    path = Path(workdir) / "vox-256-random.keras"
    if not path.exists():
        import keras

        from fomm_tf import build_models, load_config

        keras.utils.set_random_seed(0)
        build_models(load_config(VOX_CONFIG)).save(path)
    return path


def write_clip(path, count, size):
    """``count`` frames of the bundled driving clip (looped), ``size`` square."""
    frames = _float_frames(SAMPLE_DRIVING)
    frames = [frames[i % len(frames)] for i in range(count)]
    fitted = [video_io.fit_frame(f, (size, size, 3)) for f in frames]
    with video_io.VideoWriter(path, 25) as writer:
        writer.write(np.stack(fitted))
    return path


class FrameTimer:
    """Per-frame step of one ``Animator``: keypoints of the driving chunk, then
    the generator; the source's keypoints and features are prepared once."""

    def __init__(self, animator, source, driving, batch):
        from fomm_tf.inference.normalization_switches import (
            demo_normalization,
            flags_from_keywords,
        )

        self.animator, self.source, self.batch = animator, source, batch
        self.driving = driving
        self.flags = flags_from_keywords(demo_normalization(True, True))
        self.kp_source = animator.keypoints(source)
        self.kp_initial = animator.keypoints(driving[:1])
        self.frames(driving[:batch])  # warm-up (traces, caches the source)

    def frames(self, chunk):
        kp = self.animator.keypoints(chunk)
        return self.animator.generate(
            self.source, self.kp_source, kp, self.kp_initial, self.flags
        )

    def median_ms(self, count):
        """Median ms per frame over ``count`` frames (chunks of ``batch``)."""
        times = []
        for start in range(0, count, self.batch):
            chunk = self.driving[start % len(self.driving) :][: self.batch]
            begin = time.perf_counter()
            self.frames(chunk)
            times.append((time.perf_counter() - begin) * 1e3 / len(chunk))
        return statistics.median(times)

    def all_frames(self):
        chunks = range(0, len(self.driving), self.batch)
        return np.concatenate(
            [self.frames(self.driving[i : i + self.batch]) for i in chunks]
        )


def psnr_db(reference, other):
    mse = float(np.mean((np.asarray(reference) - np.asarray(other)) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-20)))


def timers(checkpoint, exports, source, driving, threads):
    """``{path name: FrameTimer}`` of the Keras batches and every TFLite mode."""
    from fomm_tf.checkpoints import load_checkpoint
    from fomm_tf.inference.keras_animator import KerasAnimator
    from fomm_tf.inference.litert_runner import LiteRTRunner

    keras_animator = KerasAnimator(load_checkpoint(None, checkpoint), optimize=True)
    out = {f"keras_batch{b}": FrameTimer(keras_animator, source, driving, b)
           for b in (1, 4)}  # fmt: skip
    if has_bfloat16_instructions():
        bfloat16 = KerasAnimator(load_checkpoint(None, checkpoint), precision=BF16)
        out["keras_batch4_bfloat16"] = FrameTimer(bfloat16, source, driving, 4)
    for mode, directory in exports.items():
        runner = LiteRTRunner(directory, num_threads=threads)
        out[f"tflite_{mode}"] = FrameTimer(runner, source, driving, 1)
    return out


def quality(name, checkpoint, exports, clip, threads, config=None):
    """PSNR (dB) of every path against the Keras float32 frames of ``clip``
    (the models as loaded; the Keras paths run them optimised, as timed)."""
    from fomm_tf.checkpoints import load_checkpoint
    from fomm_tf.inference.keras_animator import KerasAnimator
    from fomm_tf.inference.litert_runner import LiteRTRunner

    models = load_checkpoint(config, checkpoint)
    source, driving = clip[:1], clip
    reference = FrameTimer(KerasAnimator(models), source, driving, 1).all_frames()
    animator = KerasAnimator(models, optimize=True)
    scores = {
        f"keras_batch{batch}": psnr_db(
            reference, FrameTimer(animator, source, driving, batch).all_frames()
        )
        for batch in (1, 4)
    }
    bfloat16 = KerasAnimator(load_checkpoint(config, checkpoint), precision=BF16)
    frames = FrameTimer(bfloat16, source, driving, 4).all_frames()
    scores["keras_batch4_bfloat16"] = psnr_db(reference, frames)
    for mode, directory in exports.items():
        runner = LiteRTRunner(directory, num_threads=threads)
        frames = FrameTimer(runner, source, driving, 1).all_frames()
        scores[f"tflite_{mode}"] = psnr_db(reference, frames)
    return {"model": name, "psnr_db": scores}


def _float_frames(path):
    return [video_io.to_float(frame) for frame in video_io.iter_frames(path)]


def clip_frames(path, count, size):
    frames = _float_frames(path)[:count]
    return np.stack([video_io.fit_frame(f, (size, size, 3)) for f in frames])


def per_frame(workdir, rounds, frames, threads):
    """Interleaved rounds: official, then every path of ours."""
    checkpoint = random_vox(workdir)
    exports = export_modes(checkpoint, Path(workdir) / "vox")
    clip = clip_frames(write_clip(Path(workdir) / "clip256.mp4", 16, 256), 16, 256)
    paths = timers(checkpoint, exports, clip[:1], clip, threads)
    samples = {"official": [], **{name: [] for name in paths}}
    for index in range(rounds):
        log = Path(workdir) / f"official_{index}.log"
        samples["official"].append(
            official(frames, threads, log)["ms_per_frame_median"]
        )
        for name, timer in paths.items():
            samples[name].append(timer.median_ms(frames))
    sizes = {f"tflite_{mode}": _size_mb(directory)
             for mode, directory in exports.items()}  # fmt: skip
    base = statistics.median(samples["official"])
    return {
        name: {"ms": statistics.median(values), "rounds_ms": values,
               "ratio": statistics.median(values) / base,
               "size_mb": sizes.get(name)}
        for name, values in samples.items()
    }  # fmt: skip


def _size_mb(directory):
    return sum(p.stat().st_size for p in Path(directory).glob("*.tflite")) / 1e6


def commands(workdir, count, threads, cli_mode):
    """Wall time, first chunk and peak RSS of the animate command and the
    official loop on a ``count``-frame clip."""
    clip = write_clip(Path(workdir) / f"clip{count}.mp4", count, 256)
    common = [
        f"--driving_video={clip}",
        "--source_image=" + str(ASSETS_DIR / "source.png"),
    ]
    vox = f"--checkpoint={random_vox(workdir)}"
    runs = {
        "animate_keras": [vox],
        **({"animate_keras_bfloat16": [vox, f"--precision={BF16}"]}
           if has_bfloat16_instructions() else {}),
        f"animate_tflite_{cli_mode}": [
            "--backend=tflite", f"--tflite_dir={Path(workdir) / 'vox' / cli_mode}"
        ],
    }  # fmt: skip
    if (FIXTURE / "vox_small_legacy.pth.tar").exists():
        runs["animate_pth_tar_vox_small"] = [
            f"--config={FIXTURE / 'vox_small.yaml'}",
            f"--checkpoint={FIXTURE / 'vox_small_legacy.pth.tar'}",
        ]
    out = {"official_loop": official(count, threads, Path(workdir) / "official.log")}
    for name, arguments in runs.items():
        result = Path(workdir) / f"{name}.mp4"
        command = python_module("fomm_tf.animate", *common, *arguments,
                                f"--result_video={result}")  # fmt: skip
        out[name] = run_logged(
            command, Path(workdir) / f"{name}.log", quiet_env(threads)
        )
    return out


def trained_quality(workdir, threads):
    """PSNR per path on the bundled model and the vox_small fixture weights."""
    models = [("bundled synthetic-64", DEFAULT_CHECKPOINT, None, 64)]
    if (FIXTURE / "vox_small.pth.tar").exists():
        models.append(("fixture vox_small", FIXTURE / "vox_small.pth.tar",
                       FIXTURE / "vox_small.yaml", 256))  # fmt: skip
    out = []
    for name, checkpoint, config, size in models:
        folder = Path(workdir) / name.split()[-1]
        exports = export_modes(checkpoint, folder, config)
        clip = clip_frames(SAMPLE_DRIVING, 16, size)
        out.append(quality(name, checkpoint, exports, clip, threads, config))
    return out


def run(workdir):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    results = {"machine": machine(), "threads": FLAGS.threads, "goals": GOALS}
    results["per_frame"] = per_frame(workdir, FLAGS.rounds, FLAGS.frames, FLAGS.threads)
    vox = random_vox(workdir)
    clip = clip_frames(Path(workdir) / "clip256.mp4", 16, 256)
    results["quality"] = [
        quality("vox-256 random", vox, export_modes(vox, Path(workdir) / "vox"),
                clip, FLAGS.threads),
        *trained_quality(workdir, FLAGS.threads),
    ]  # fmt: skip
    results["commands"] = commands(
        workdir, FLAGS.clip_frames, FLAGS.threads, FLAGS.cli_mode
    )
    results["load_after"] = os.getloadavg()
    results["verdicts"] = verdicts(results)
    return results


def verdicts(results):
    """Each goal of the issue: met or not, with the figure that decides."""
    frame, commands = results["per_frame"], results["commands"]
    trained = [q["psnr_db"] for q in results["quality"][1:]]
    fast = {name: row["ms"] for name, row in frame.items()
            if name.startswith("tflite") and row["ms"] <= GOALS["tflite_ms"]
            and all(q[name] >= GOALS["psnr_db"] for q in trained)}  # fmt: skip
    keras_ratio = min(frame["keras_batch1"]["ratio"], frame["keras_batch4"]["ratio"])
    official_peak = commands["official_loop"]["peak_rss_mib"]
    return {
        "tflite_15fps_35db": fast or False,
        "keras_half_official": keras_ratio <= GOALS["keras_ratio"],
        "first_frame_3s": {name: row["first_frame_s"] <= GOALS["first_frame_s"]
                           for name, row in commands.items() if row["first_frame_s"]},
        "peak_rss_le_official": {name: row["peak_rss_mib"] <= official_peak
                                 for name, row in commands.items()},
    }  # fmt: skip


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "load_before": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip


def table(results):
    """Prints the per-frame, quality and command tables."""
    print(f"{results['machine']['date']}, {results['machine']['cpu']}, "
          f"{results['threads']} threads, load {results['machine']['load_before']}"
          f" -> {results['load_after']}")  # fmt: skip
    print(f"\n{'vox-256 per frame':<24}{'ms':>8}{'vs official':>13}{'MB':>8}")
    for name, row in results["per_frame"].items():
        size = "-" if row["size_mb"] is None else f"{row['size_mb']:.0f}"
        print(f"{name:<24}{row['ms']:>8.1f}{row['ratio']:>13.2f}{size:>8}")
    names = list(results["quality"][0]["psnr_db"])
    print(f"\n{'PSNR vs Keras float32 (dB)':<28}" + "".join(
        f"{n.replace('tflite_', '').replace('keras_batch', 'keras b'):>14}"
        for n in names))  # fmt: skip
    for entry in results["quality"]:
        print(f"{entry['model']:<28}" + "".join(
            f"{min(entry['psnr_db'][n], 999):>14.1f}" for n in names))  # fmt: skip
    print(f"\n{'command, ' + str(FLAGS.clip_frames) + ' frames':<34}{'wall s':>8}"
          f"{'first chunk s':>15}{'peak MiB':>10}")  # fmt: skip
    for name, row in results["commands"].items():
        first = "-" if not row.get("first_frame_s") else f"{row['first_frame_s']:.1f}"
        print(f"{name:<34}{row['wall_s']:>8.1f}{first:>15}{row['peak_rss_mib']:>10.0f}")
    print("\ngoals:", json.dumps(results["verdicts"]))


def main(argv):
    del argv
    start = time.time()
    if FLAGS.workdir:
        os.makedirs(FLAGS.workdir, exist_ok=True)
        results = run(FLAGS.workdir)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            results = run(workdir)
    report(results, start, table, FLAGS.json)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
