"""Per-frame latency of each exported model in the browser (LiteRT.js WASM, 1 and
2 threads, headless Chromium) next to the Python LiteRT runner (XNNPACK, 1 and 2
threads); prints a table and writes JSON.

    python -m web_demo.bench --json web_bench.json            # bundled + vox-256
    python -m web_demo.bench --models bundled --runs 20
    python -m web_demo.bench --model_dir exported/vox/float32  # any export

Models: ``bundled`` (``fomm_tf/assets/synthetic-64.keras``) and ``vox-256``
(``configs/vox-256.yaml``, random weights), exported float32 once and cached
(see ``web_demo.reference``). Each figure is the median over ``--runs`` of one
call on a fixed synthetic frame after a warm-up call; "per frame" is keypoint
detector + frame generator (the source encoder runs once per photo).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from web_demo import serve
from web_demo.reference import (
    LiteRTRunner,
    bundled_export,
    cached_export,
    export_float32,
    signature_runners,
)

REPO = Path(__file__).resolve().parents[1]
VOX_CONFIG = REPO / "configs" / "vox-256.yaml"
DRIVER = Path(__file__).resolve().parent / "tools" / "drive_page.mjs"
THREADS = (1, 2)
PER_FRAME = ("keypoint_detector", "frame_generator", "generator")


def model_dirs(names):
    """``{label: export mode directory}`` for ``bundled`` / ``vox-256``."""
    out = {}
    for name in names:
        if name == "bundled":
            out[name] = bundled_export()
        elif name == "vox-256":
            out[name] = cached_export(
                "vox-256-random",
                lambda staging: export_float32(staging, None, VOX_CONFIG),
            )
        else:
            raise serve.DemoError(f"unknown model {name!r} (bundled, vox-256)")
    return out


def synthetic_inputs(runner):
    """Inputs of every model for one synthetic frame (the page uses the same)."""
    height, width, _ = runner.frame_shape
    count = height * width * 3
    image = ((np.arange(count) * 7919) % 255 / 255).astype(np.float32)
    image = image.reshape(1, height, width, 3)
    runners = signature_runners(runner)
    kp = runners["keypoint_detector"](image=image)
    inputs = {"keypoint_detector": {"image": image}}
    generator = "frame_generator" if "frame_generator" in runners else "generator"
    gen = {"source": image, "normalization_flags": np.asarray(runner.default_flags,
                                                              np.float32)}  # fmt: skip
    for prefix in ("kp_source", "kp_driving", "kp_driving_initial"):
        gen.update({f"{prefix}_{key[3:]}": value for key, value in kp.items()})
    if "source_encoder" in runners:
        inputs["source_encoder"] = {"source": image}
        gen["source_features"] = runners["source_encoder"](source=image)[
            "source_features"
        ]
    inputs[generator] = gen
    return inputs


def python_ms(model_dir, threads, runs):
    """Median ms per model through the Python LiteRT runner's interpreters."""
    runner = LiteRTRunner(model_dir, num_threads=threads)
    runners = signature_runners(runner)
    out = {}
    for name, inputs in synthetic_inputs(runner).items():
        runners[name](**inputs)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            runners[name](**inputs)
            times.append((time.perf_counter() - start) * 1e3)
        out[name] = statistics.median(times)
    return out


def browser_ms(url, threads, runs, node):
    """Median ms per model in headless Chromium (``?threads=N``)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            node,
            str(DRIVER),
            "bench",
            f"{url}?threads={threads}",
            tmp,
            str(runs),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=3600)
        result = json.loads((Path(tmp) / "result.json").read_text())
    if result.get("status") != "ready" or "bench" not in result:
        why = result.get("error") or result.get("driverError")
        raise serve.DemoError(f"browser benchmark failed: {why}")
    if result["bench"]["threads"] != threads:
        raise serve.DemoError(f"page ran {result['bench']['threads']} threads")
    return result["bench"]["ms"]


def per_frame(ms):
    return sum(value for name, value in ms.items() if name in PER_FRAME)


def table(rows):
    models = ["keypoint_detector", "source_encoder", "frame_generator"]
    head = "| model | runtime | threads | " + " | ".join(models) + " | per frame |"
    lines = [head, "|" + "---|" * (len(models) + 4)]
    for row in rows:
        cells = [f"{row['ms'][m]:.1f}" if m in row["ms"] else "–" for m in models]
        lines.append(
            f"| {row['model']} | {row['runtime']} | {row['threads']} | "
            + " | ".join(cells)
            + f" | {per_frame(row['ms']):.1f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m web_demo.bench",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--models", default="bundled,vox-256",
                        help="comma list of bundled, vox-256")  # fmt: skip
    parser.add_argument("--model_dir", help="benchmark this export instead")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", default="web_bench.json", help="JSON output path")
    args = parser.parse_args(argv)
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    try:
        if node is None or not Path(chromium).is_file():
            raise serve.DemoError(f"needs node and Chromium at {chromium}")
        serve.check_runtime()
        if args.model_dir:
            dirs = {Path(args.model_dir).name: Path(args.model_dir)}
        else:
            dirs = model_dirs(args.models.split(","))
        rows = []
        for label, model_dir in dirs.items():
            for threads in THREADS:
                ms = python_ms(model_dir, threads, args.runs)
                rows.append({"model": label, "runtime": "Python LiteRT (XNNPACK)",
                             "threads": threads, "ms": ms})  # fmt: skip
                print(table(rows[-1:]).splitlines()[-1], flush=True)
            httpd, url = serve.serve_in_thread(model_dir)
            try:
                for threads in THREADS:
                    ms = browser_ms(url, threads, args.runs, node)
                    rows.append({"model": label, "runtime": "Chromium LiteRT.js WASM",
                                 "threads": threads, "ms": ms})  # fmt: skip
                    print(table(rows[-1:]).splitlines()[-1], flush=True)
            finally:
                httpd.shutdown()
                httpd.server_close()
    except (serve.DemoError, OSError, subprocess.SubprocessError) as error:
        sys.exit(f"web_demo.bench: error: {error}")
    print()
    print(table(rows))
    Path(args.json).write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
