"""The Python side the browser and Android demos are checked against.

This is the one module of ``web_demo`` (and of the Android golden writer) that
imports the Python LiteRT runner, so moving the runner is a one-line change here.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from export.litert_runner import LiteRTRunner  # noqa: F401 (re-exported)
from fomm_tf.animation import DEFAULT_CHECKPOINT, SAMPLE_DRIVING, SAMPLE_SOURCE

__all__ = [
    "DEFAULT_CHECKPOINT",
    "LiteRTRunner",
    "SAMPLE_DRIVING",
    "SAMPLE_SOURCE",
    "bundled_export",
    "export_float32",
]

CACHE_ENV = "FOMM_TF_CACHE"


def export_float32(out_dir, checkpoint=None, config=None):
    """Export ``checkpoint`` (or random weights of ``config``) as float32 to
    ``out_dir/float32``; returns that mode directory."""
    import fomm_tf
    from export.tflite import export_tflite

    if checkpoint is None:
        models = fomm_tf.build_models(fomm_tf.load_config(config))
        weights = "random"
    else:
        models = fomm_tf.load_checkpoint(config, checkpoint)
        weights = Path(checkpoint).name
    return export_tflite(models, out_dir, ["float32"], weights=weights)["float32"]


def _digest(path):
    sha = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def bundled_export(cache_dir=None):
    """The bundled model's float32 export, made on first use and cached under
    ``cache_dir`` (default ``$FOMM_TF_CACHE`` or ``~/.cache/fomm-tf``) by the
    model file's hash, so a retrained bundled model is exported again."""
    if not DEFAULT_CHECKPOINT.is_file():
        raise FileNotFoundError(f"bundled model {DEFAULT_CHECKPOINT} is not installed")
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "fomm-tf"
    out = Path(cache_dir) / "web_demo" / f"bundled-{_digest(DEFAULT_CHECKPOINT)}"
    mode_dir = out / "float32"
    if not (mode_dir / "model_card.json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as staging:
            export_float32(staging, DEFAULT_CHECKPOINT)
            out.mkdir(exist_ok=True)
            os.replace(Path(staging) / "float32", mode_dir)
    return mode_dir
