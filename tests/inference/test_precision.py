"""``--precision bfloat16``: the decoder really runs in bfloat16, the frames stay
within a stated PSNR of float32, keypoints are untouched, and the command
refuses CPUs without bfloat16 instructions."""

import numpy as np
import pytest

from fomm_tf import animation, video_io
from fomm_tf.checkpoints import load_checkpoint
from fomm_tf.inference.precision import check_fast_here

FRAMES = 8
# Bundled model, 8 sample frames: 64.9 dB measured. Over 90 dB would mean the
# decoder did not change precision at all.
MIN_PSNR_DB, MAX_PSNR_DB = 45.0, 90.0


def animated(precision):
    """(keypoints of the driving frames, predictions) of the bundled model."""
    animator = animation.KerasAnimator(
        load_checkpoint(None, animation.DEFAULT_CHECKPOINT),
        optimize=True,  # as the command: the same float32 transforms in both
        precision=precision,
    )
    shape = animator.frame_shape
    source = video_io.fit_frame(video_io.read_image(animation.SAMPLE_SOURCE), shape)
    driving = np.stack(
        [
            video_io.fit_frame(video_io.to_float(frame), shape)
            for frame in video_io.iter_frames(animation.SAMPLE_DRIVING)
        ][:FRAMES]
    )
    predictions = animation.animate(animator, source, driving)
    return animator.keypoints(driving), predictions


def test_bfloat16_decoder_stays_close_to_float32_with_keypoints_unchanged():
    kp_float32, float32 = animated("float32")
    kp_bfloat16, bfloat16 = animated("bfloat16")
    for key in kp_float32:
        np.testing.assert_array_equal(kp_float32[key], kp_bfloat16[key])
    assert bfloat16.dtype == np.float32 and bfloat16.shape == float32.shape
    psnr = 10 * np.log10(1 / np.mean((float32 - bfloat16) ** 2))
    assert MIN_PSNR_DB < psnr < MAX_PSNR_DB, psnr


@pytest.mark.parametrize(
    "flags, precision, message",
    [
        ("fpu avx2 avx512f", "bfloat16", "needs a CPU with bfloat16 instructions"),
        (None, "bfloat16", "avx512_bf16 or amx_bf16 in"),
        ("fpu avx2", "float16", "precision 'float16' is not one of"),
    ],
)
def test_precision_refused_with_one_line(tmp_path, flags, precision, message):
    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    with pytest.raises(ValueError, match=message):
        check_fast_here(precision, cpuinfo)


@pytest.mark.parametrize("flags", ["fpu avx512_bf16", "fpu amx_bf16 amx_tile"])
def test_bfloat16_admitted_with_bfloat16_instructions(tmp_path, flags):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert check_fast_here("bfloat16", cpuinfo) is None
    assert check_fast_here("float32", tmp_path / "missing") is None
