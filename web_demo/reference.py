"""The Python side the browser and Android demos are checked against.

This is the one module of ``web_demo`` (and of the Android golden writer) that
imports the Python LiteRT runner, so moving the runner is a one-line change here.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from fomm_tf.animation import DEFAULT_CHECKPOINT, SAMPLE_DRIVING, SAMPLE_SOURCE
from fomm_tf.inference.litert_runner import LiteRTRunner  # noqa: F401 (re-exported)

__all__ = [
    "DEFAULT_CHECKPOINT",
    "LiteRTRunner",
    "SAMPLE_DRIVING",
    "SAMPLE_SOURCE",
    "bundled_export",
    "cached_export",
    "export_float32",
    "signature_runners",
]

CACHE_ENV = "FOMM_TF_CACHE"


def export_float32(out_dir, checkpoint=None, config=None):
    """Export ``checkpoint`` (or random weights of ``config``) as float32 to
    ``out_dir/float32``; returns that mode directory."""
    import fomm_tf
    from export.loading import weights_record
    from export.tflite import export_tflite

    if checkpoint is None:
        models = fomm_tf.build_models(fomm_tf.load_config(config))
        weights = "random"
    else:
        models = fomm_tf.load_checkpoint(config, checkpoint)
        weights = weights_record(checkpoint)
    return export_tflite(models, out_dir, ["float32"], weights=weights)["float32"]


def signature_runners(runner):
    """``{signature: callable(**inputs) -> outputs}`` of a LiteRTRunner: its
    per-model interpreters (timed by the benchmark, recorded by the Android golden
    writer; the one place that knows the runner's internals)."""
    return runner._runners


def _digest(path):
    sha = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def cached_export(name, make, cache_dir=None):
    """``make(staging_dir) -> mode_dir`` run once; the result kept under
    ``cache_dir/web_demo/name`` (default cache: ``$FOMM_TF_CACHE`` or
    ``~/.cache/fomm-tf``). Returns the cached mode directory."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fomm-tf"
    out = Path(cache_dir) / "web_demo" / name
    mode_dir = out / "float32"
    if not (mode_dir / "model_card.json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as staging:
            made = make(staging)
            out.mkdir(exist_ok=True)
            os.replace(made, mode_dir)
    return mode_dir


def bundled_export(cache_dir=None):
    """The bundled model's float32 export, made on first use and cached under
    ``cache_dir`` (default ``$FOMM_TF_CACHE`` or ``~/.cache/fomm-tf``) by the
    model file's hash, so a retrained bundled model is exported again."""
    if not DEFAULT_CHECKPOINT.is_file():
        raise FileNotFoundError(f"bundled model {DEFAULT_CHECKPOINT} is not installed")
    name = f"bundled-{_digest(DEFAULT_CHECKPOINT)}"
    return cached_export(
        name, lambda staging: export_float32(staging, DEFAULT_CHECKPOINT), cache_dir
    )
