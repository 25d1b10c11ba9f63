"""The README's main command: animate the bundled sample with the bundled model."""

import subprocess
import sys

import pytest

from fomm_tf import animation, video_io


@pytest.mark.slow
def test_default_command_animates_the_bundled_sample(tmp_path):
    result = tmp_path / "result.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "fomm_tf.animate", f"--result_video={result}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    driving = video_io.video_info(animation.SAMPLE_DRIVING)
    written = video_io.video_info(result)
    assert written.frame_count == driving.frame_count == 24
    assert written.fps == pytest.approx(driving.fps)
    assert written.size == (64, 64)
