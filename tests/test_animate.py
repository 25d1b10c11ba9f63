"""End-to-end animation (python -m fomm_tf.animate) with the fixture checkpoint."""

import functools

import numpy as np
import pytest
import tensorflow as tf

import fomm_tf
from fomm_tf import animate, animation, video_io
from tests.harness import (
    FIXTURE_CHECKPOINT,
    FIXTURE_CONFIG,
    FIXTURE_FLAGS,
    ffmpeg,
    leftovers,
    make_bad_videos,
    read_folder,
    run_animate,
    run_module,
    save_folder,
    save_png,
)

pytestmark = pytest.mark.slow
# The command on the fixture checkpoint.
run_keras = functools.partial(run_animate, *FIXTURE_FLAGS)
SHAPE = (256, 256, 3)


@pytest.fixture(scope="module")
def animator(fixture_models):
    return animation.KerasAnimator(fixture_models)


def blob_image(height, width, centres, seed=0):
    """A smooth picture: coloured gaussian blobs at (x, y) fractions on a gradient."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    image = np.stack([rows, cols, 0.5 * (rows + cols)], -1) * 0.4
    for x, y in centres:
        blob = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / 0.01)
        image += blob[..., None] * rng.uniform(0.2, 0.8, 3)
    return np.clip(image, 0, 1).astype(np.float32)


SOURCE_BLOBS = [(0.3, 0.35), (0.7, 0.35), (0.5, 0.7)]


def driving_frames(count, height, width, planted=None):
    """Blobs moving frame by frame; frame ``planted`` equals the source exactly."""
    frames = []
    for index in range(count):
        shift = 0.04 * (index + 1)
        blobs = [(x + shift, y - shift / 2) for x, y in SOURCE_BLOBS]
        frames.append(blob_image(height, width, blobs))
    if planted is not None:
        frames[planted] = blob_image(height, width, SOURCE_BLOBS)
    return np.stack(frames)


@pytest.fixture(autouse=True)
def reuse_loaded_model(animator, monkeypatch):
    """In-process CLI runs reuse the module's animator for the fixture checkpoint
    (loading and tracing once); other checkpoints/configs load for real."""
    real_load = animate.load_checkpoint
    fixture = (str(FIXTURE_CONFIG), str(FIXTURE_CHECKPOINT))

    def load(config, checkpoint):
        if (str(config), str(checkpoint)) == fixture:
            return animator.models
        return real_load(config, checkpoint)

    monkeypatch.setattr(animate, "load_checkpoint", load)
    monkeypatch.setattr(
        animation, "KerasAnimator",
        lambda models, **options: (
            animator if models is animator.models else real_animator(models, **options)
        ),
    )  # fmt: skip


real_animator = animation.KerasAnimator


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A 300x200 source JPEG-free PNG and a 6-frame 96x128 driving frame folder."""
    folder = tmp_path_factory.mktemp("inputs")
    source = save_png(folder / "source.png", blob_image(300, 200, SOURCE_BLOBS))
    driving = save_folder(folder / "driving", driving_frames(6, 96, 128))
    return source, driving


def fitted(source_path, driving_folder):
    source = video_io.fit_frame(video_io.read_image(source_path), SHAPE)
    frames = [video_io.fit_frame(f, SHAPE) for f in read_folder(driving_folder)]
    return source, np.stack(frames)


def by_hand(models, source, frames, relative, adapt_scale, initial=0):
    """Official demo loop, one frame at a time, with fomm_tf.normalize_kp."""
    source = tf.constant(source[None])
    kp_source = models.kp_detector(source)
    kp_initial = models.kp_detector(tf.constant(frames[initial : initial + 1]))
    predictions = []
    for frame in frames:
        kp_driving = models.kp_detector(tf.constant(frame[None]))
        kp_norm = fomm_tf.normalize_kp(kp_source, kp_driving, kp_initial,
                                       use_relative_movement=relative,
                                       use_relative_jacobian=relative,
                                       adapt_movement_scale=adapt_scale)  # fmt: skip
        out = models.generator(source, kp_source=kp_source, kp_driving=kp_norm)
        predictions.append(out["prediction"][0].numpy())
    return np.stack(predictions)


def frames_written(source_path, driving, tmp_path, *arguments):
    """The command's frames, written as a frame folder into ``tmp_path``."""
    result = tmp_path / "result"
    assert run_keras(f"--source_image={source_path}", f"--driving_video={driving}",
                     f"--result_video={result}", *arguments) is None  # fmt: skip
    return read_folder(result)


def test_cli_frames_equal_library_api(animator, inputs, tmp_path):
    source_path, driving = inputs
    written = frames_written(source_path, driving, tmp_path, "--batch_size=4")
    assert written.shape == (6, 256, 256, 3)
    source, frames = fitted(source_path, driving)
    expected = animation.animate(animator, source, frames, batch_size=4)
    np.testing.assert_array_equal(
        video_io.to_uint8(written), video_io.to_uint8(expected)
    )
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "relative, adapt_scale", [(False, False), (True, False), (True, True)]
)
def test_modes_match_normalize_kp_by_hand(animator, inputs, relative, adapt_scale):
    source, frames = fitted(*inputs)
    library = animation.animate(animator, source, frames, relative, adapt_scale,
                                batch_size=4)  # fmt: skip
    expected = by_hand(animator.models, source, frames, relative, adapt_scale)
    np.testing.assert_allclose(library, expected, atol=2e-3)
    absolute = by_hand(animator.models, source, frames[:2], False, False)
    if relative:  # the modes really differ on these inputs
        assert np.abs(library[:2] - absolute).max() > 0.01


def test_relative_from_initial_frame_matches_by_hand(animator, inputs):
    source, frames = fitted(*inputs)
    library = animation.animate(animator, source, frames, True, True, initial_frame=3)
    expected = by_hand(animator.models, source, frames, True, True, initial=3)
    np.testing.assert_allclose(library, expected, atol=2e-3)


def test_mp4_result_keeps_fps_and_frame_count(inputs, tmp_path):
    source_path, _ = inputs
    frames = video_io.to_uint8(driving_frames(5, 60, 80))
    with video_io.VideoWriter(tmp_path / "driving.mp4", fps=15) as writer:
        writer.write(frames)
    result = tmp_path / "result.mp4"
    assert run_keras(f"--source_image={source_path}", f"--result_video={result}",
                     f"--driving_video={tmp_path / 'driving.mp4'}",
                     "--batch_size=2", "--center_crop") is None  # fmt: skip
    info = video_io.video_info(result)
    assert (info.fps, info.frame_count, info.size) == (15.0, 5, (256, 256))


def test_find_best_frame_picks_planted_frame(animator, inputs, tmp_path, capsys):
    source_path, _ = inputs
    driving = save_folder(tmp_path / "driving", driving_frames(7, 96, 128, planted=4))
    source, frames = fitted(source_path, driving)
    chunks = (frames[i : i + 3] for i in range(0, 7, 3))
    index, _ = animation.best_frame_index(animator, source[None], chunks)
    assert index == 4
    written = frames_written(source_path, driving, tmp_path, "--find_best_frame")
    assert "Best frame: 4" in capsys.readouterr().out
    expected = animation.animate(animator, source, frames, initial_frame=4)
    assert np.abs(written - expected).max() < 2 / 255


def test_best_frame_flag_equals_library(animator, inputs, tmp_path, capsys):
    written = frames_written(*inputs, tmp_path, "--best_frame=2")
    assert "Best frame: 2" in capsys.readouterr().out
    source, frames = fitted(*inputs)
    expected = animation.animate(animator, source, frames, initial_frame=2)
    np.testing.assert_array_equal(
        video_io.to_uint8(written), video_io.to_uint8(expected)
    )


def test_side_by_side_panels(animator, inputs, tmp_path):
    panels = frames_written(*inputs, tmp_path, "--side_by_side")
    assert panels.shape == (6, 256, 768, 3)
    source, frames = fitted(*inputs)
    expected = animation.animate(animator, source, frames)
    np.testing.assert_array_equal(
        video_io.to_uint8(panels[:, :, 512:]), video_io.to_uint8(expected)
    )
    source_panel = panels[0, :, :256]
    assert 0 < np.mean(np.abs(source_panel - source) > 0.02) < 0.2  # discs drawn


def test_audio_is_carried_over(inputs, tmp_path):
    source_path, _ = inputs
    driving = tmp_path / "talk.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x96:rate=8", "-f", "lavfi", "-i",
           "sine=frequency=300", "-t", "0.5", "-pix_fmt", "yuv420p", "-shortest",
           str(driving))  # fmt: skip
    with_audio, without = tmp_path / "with.mp4", tmp_path / "without.mp4"
    common = (f"--source_image={source_path}", f"--driving_video={driving}")
    assert run_keras(*common, f"--result_video={with_audio}", "--audio") is None
    assert run_keras(*common, f"--result_video={without}") is None
    info = video_io.video_info(with_audio)
    assert info.has_audio and (info.frame_count, info.fps) == (4, 8.0)
    assert not video_io.video_info(without).has_audio


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    videos = make_bad_videos(folder)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n garbage")
    config = FIXTURE_CONFIG.read_text().replace("num_kp: 10", "num_kp: 5")
    (folder / "kp5.yaml").write_text(config)
    return folder, videos


def bad_cases(folder, videos):
    cases = [([f"--driving_video={folder / name}"], message)
             for name, message in videos.items()]  # fmt: skip
    cases += [
        ([f"--source_image={folder / 'broken.png'}"], "not a readable image"),
        ([f"--source_image={folder / 'missing.png'}"], "no such file"),
        ([f"--config={folder / 'kp5.yaml'}"], "does not match the config"),
        ([f"--result_video={folder / 'no_dir' / 'out.mp4'}"], "does not exist"),
        (["--best_frame=50"], "--best_frame 50"),
    ]
    return cases


def test_bad_inputs_give_one_line_errors(inputs, bad_inputs, tmp_path):
    source_path, driving = inputs
    folder, videos = bad_inputs
    result = tmp_path / "result.mp4"
    result.write_bytes(b"an earlier result")
    for arguments, message in bad_cases(folder, videos):
        defaults = [f"--source_image={source_path}", f"--driving_video={driving}",
                    f"--result_video={result}"]  # fmt: skip
        error = run_keras(*defaults, *arguments)
        assert isinstance(error, str), arguments
        assert error.startswith("error: ") and message in error, (arguments, error)
        assert "\n" not in error
        assert result.read_bytes() == b"an earlier result"
        assert leftovers(tmp_path) == [] and leftovers(folder) == []


def test_bundled_model_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(animation, "DEFAULT_CHECKPOINT", tmp_path / "model.keras")
    monkeypatch.setattr(animation, "DEFAULT_CONFIG", tmp_path / "model.yaml")
    with pytest.raises(FileNotFoundError, match="bundled model file .* not installed"):
        animate._model_paths(None, str(tmp_path / "model.keras"))


def test_subprocess_error_has_no_traceback(inputs, bad_inputs, tmp_path):
    source_path, _ = inputs
    folder, _ = bad_inputs
    done = run_module("fomm_tf.animate", *FIXTURE_FLAGS,
                      f"--source_image={source_path}",
                      f"--driving_video={folder / 'truncated_faststart.mp4'}",
                      f"--result_video={tmp_path / 'out.mp4'}")  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "truncated" in done.stderr
    assert not (tmp_path / "out.mp4").exists()
