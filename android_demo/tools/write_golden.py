"""Golden values for the Android core's JVM tests, written by the Python side.

    python android_demo/tools/write_golden.py --out android_demo/build/golden \
        [--model_dir exported/vox/float32] [--frames 4]

Default model: the bundled model's float32 export (made now, so a retrained model
gives new goldens). Runs ``LiteRTRunner`` (the Python LiteRT runner) on the bundled
sample (source photo, first ``--frames`` driving frames) and records every model
call it makes (inputs and outputs by tensor name), the pixels as Android ARGB ints,
the float32 tensors they become, the animated frames and the fields of the model
card. Little-endian ``.bin`` files listed in ``golden.json``. The JVM tests read
them through ``-Dfomm.golden=OUT``.
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fomm_tf import video_io  # noqa: E402
from web_demo.reference import (  # noqa: E402
    SAMPLE_DRIVING,
    SAMPLE_SOURCE,
    LiteRTRunner,
    bundled_export,
    signature_runners,
)


class _Tensors:
    """Writes each distinct array once; returns its id in ``golden.json``."""

    def __init__(self, out):
        self.out = out
        self.index = {}

    def save(self, array, dtype):
        array = np.ascontiguousarray(array, dtype=dtype)
        key = hashlib.sha1(array.tobytes() + str(array.shape).encode()).hexdigest()[:16]
        key = f"{np.dtype(dtype).name}-{key}"
        if key not in self.index:
            array.tofile(self.out / f"{key}.bin")
            self.index[key] = {"file": f"{key}.bin", "shape": list(array.shape),
                               "dtype": np.dtype(dtype).name}  # fmt: skip
        return key


def argb(pixels_uint8):
    """(H, W, 3) uint8 RGB -> (H, W) int32 0xFFRRGGBB (Android Bitmap.getPixels)."""
    rgb = pixels_uint8.astype(np.uint32)
    packed = (0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return packed.astype(np.uint32).view(np.int32)


class _Recorder:
    """Wraps one signature runner of LiteRTRunner; records each call."""

    def __init__(self, name, inner, calls, tensors):
        self.name, self.inner, self.calls, self.tensors = name, inner, calls, tensors

    def __call__(self, **inputs):
        outputs = self.inner(**inputs)
        save = self.tensors.save
        self.calls.append({
            "signature": self.name,
            "inputs": {k: save(v, np.float32) for k, v in sorted(inputs.items())},
            "outputs": {k: save(v, np.float32) for k, v in sorted(outputs.items())},
        })  # fmt: skip
        return outputs

    def __getattr__(self, attribute):
        return getattr(self.inner, attribute)


def write_golden(model_dir, out, frames=4):
    """Write the goldens for ``model_dir`` into ``out``; returns ``golden.json``'s
    content."""
    model_dir, out = Path(model_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_dir / "model_card.json", out / "model_card.json")
    card = json.loads((model_dir / "model_card.json").read_text())
    shape = tuple(card["frame_shape"])
    tensors = _Tensors(out)

    def pixels(image):  # what the app's Bitmap holds after scaling to the frame
        return video_io.to_uint8(video_io.fit_frame(image, shape))

    source_px = pixels(video_io.read_image(SAMPLE_SOURCE))
    driving_px = [pixels(f) for f in video_io.iter_frames(SAMPLE_DRIVING)][:frames]
    source = video_io.to_float(source_px)[None]
    driving = np.stack([video_io.to_float(f) for f in driving_px])

    runner = LiteRTRunner(model_dir, num_threads=1)
    calls = []
    runners = signature_runners(runner)
    for name, inner in list(runners.items()):  # record every model call
        runners[name] = _Recorder(name, inner, calls, tensors)
    animated = runner.animate(source, driving)
    golden = {
        "expected_card": {
            "frame_shape": card["frame_shape"],
            "num_kp": card["num_kp"],
            "layout": card["layout"],
            "mode": card["mode"],
            "flag_order": card["normalization_flags"]["order"],
            "flag_default": card["normalization_flags"]["config_default"],
            "files": {m["signature"]: m["file"] for m in card["models"]},
            "inputs": {
                m["signature"]: [t["name"] for t in m["inputs"]] for m in card["models"]
            },  # fmt: skip
        },
        "source_argb": tensors.save(argb(source_px), np.int32),
        "source": tensors.save(source, np.float32),
        "driving_argb": [tensors.save(argb(p), np.int32) for p in driving_px],
        "driving": [tensors.save(d[None], np.float32) for d in driving],
        "frames": [tensors.save(f[None], np.float32) for f in animated],
        "frames_argb": [
            tensors.save(argb(video_io.to_uint8(f)), np.int32) for f in animated
        ],
        "calls": calls,
        "tensors": tensors.index,
    }
    (out / "golden.json").write_text(json.dumps(golden, indent=1))
    return golden


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the golden files")
    parser.add_argument("--model_dir", help="export mode directory (default: bundled)")
    parser.add_argument("--frames", type=int, default=4, help="driving frames")
    args = parser.parse_args(argv)
    try:
        model_dir = args.model_dir or bundled_export()
        golden = write_golden(model_dir, args.out, args.frames)
    except (OSError, ValueError) as error:
        sys.exit(f"write_golden: error: {error}")
    print(f"{len(golden['calls'])} model calls, {len(golden['tensors'])} tensors "
          f"-> {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
