"""Dataset evaluation modes (fomm_tf.evaluation, reconstruct / animate_dataset CLIs)
with a tiny random-weight 64x64 model."""

import dataclasses
import json
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

import fomm_tf
from fomm_tf import animation, evaluation, video_io
from fomm_tf.config import NormalizationParams
from tests.harness import noise_frames, run_module, save_tiny_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    config_path, checkpoint = save_tiny_model(folder)
    models = fomm_tf.load_checkpoint(None, checkpoint)
    return config_path, checkpoint, animation.KerasAnimator(models)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """test/: a frame folder, an mp4 (80x80, resized), a png strip, a gif."""
    root = tmp_path_factory.mktemp("dataset")
    test = root / "test"
    (test / "a_folder").mkdir(parents=True)
    for index, frame in enumerate(noise_frames(3, 64, 64, seed=1)):
        cv2.imwrite(str(test / "a_folder" / f"{index:03d}.png"), frame[..., ::-1])
    with video_io.VideoWriter(test / "b_video.mp4", fps=10) as writer:
        writer.write(noise_frames(4, 80, 80, seed=2))
    strip = np.concatenate(list(noise_frames(2, 64, 64, seed=3)), axis=1)
    cv2.imwrite(str(test / "c_strip.png"), strip[..., ::-1])
    with video_io.VideoWriter(test / "d_anim.gif", fps=10) as writer:
        writer.write(noise_frames(3, 64, 64, seed=4))
    return root


def fitted_frames(path):
    return np.stack(
        [video_io.fit_frame(f, (64, 64)) for f in video_io.iter_frames(path)]
    )


def reconstruct_by_hand(models, frames):
    """Official reconstruction loop: source = frame 0, absolute driving keypoints."""
    source = tf.constant(frames[:1])
    kp_source = models.kp_detector(source)
    predictions = []
    for frame in frames:
        kp_driving = models.kp_detector(tf.constant(frame[None]))
        out = models.generator(source, kp_source=kp_source, kp_driving=kp_driving)
        predictions.append(out["prediction"][0].numpy())
    predictions = np.stack(predictions)
    return predictions, np.abs(predictions - frames).mean(axis=(1, 2, 3))


def test_reconstruction_l1_and_outputs(tiny, dataset, tmp_path):
    _, _, animator = tiny
    models = animator.models
    results = evaluation.reconstruct_dataset(
        animator, models.config, dataset, tmp_path, batch_size=2
    )
    assert [r.name for r in results] == ["a_folder", "b_video", "c_strip", "d_anim"]
    assert [len(r.frame_l1) for r in results] == [3, 4, 2, 3]
    for result, entry in zip(
        results, sorted(os.listdir(dataset / "test")), strict=True
    ):
        frames = fitted_frames(dataset / "test" / entry)
        predictions, frame_l1 = reconstruct_by_hand(models, frames)
        np.testing.assert_allclose(result.frame_l1, frame_l1, atol=1e-4)
        strip = video_io.read_image(
            tmp_path / "reconstruction" / "png" / f"{result.name}.png"
        )
        assert strip.shape == (64, 64 * len(frames), 3)
        expected = np.concatenate(list(predictions), axis=1)
        assert np.abs(strip - expected).max() <= 1.5 / 255
        info = video_io.video_info(tmp_path / "reconstruction" / f"{result.name}.mp4")
        # source, driving, deformed, prediction, occlusion map (no sparse_deformed)
        assert (info.frame_count, info.size) == (len(frames), (5 * 64, 64))
    metrics = json.loads((tmp_path / "reconstruction" / "metrics.json").read_text())
    all_frames = np.concatenate([r.frame_l1 for r in results])
    assert metrics["mean_l1"] == pytest.approx(all_frames.mean())
    assert metrics["videos"]["b_video"] == pytest.approx(np.mean(results[1].frame_l1))


def test_animation_mode_uses_normalization(tiny, dataset, tmp_path):
    _, _, animator = tiny
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("distance,source,driving,frame\n0,a_folder,b_video.mp4,0\n")
    config = animator.models.config
    relative = NormalizationParams(
        use_relative_movement=True,
        use_relative_jacobian=True,
        adapt_movement_scale=True,
    )
    config = dataclasses.replace(
        config,
        animate_params=dataclasses.replace(
            config.animate_params, normalization_params=relative
        ),
    )
    results = evaluation.animate_dataset(
        animator, config, dataset, tmp_path, str(pairs)
    )
    assert [r.name for r in results] == ["b_video-a_folder"]
    strip = video_io.read_image(tmp_path / "animation" / "png" / "b_video-a_folder.png")
    source = fitted_frames(dataset / "test" / "a_folder")[0]
    driving = fitted_frames(dataset / "test" / "b_video.mp4")
    params = config.animate_params.normalization_params
    expected = animation.animate(
        animator, source, driving, params.use_relative_movement,
        params.adapt_movement_scale,
    )  # fmt: skip
    assert np.abs(strip - np.concatenate(list(expected), 1)).max() <= 1.5 / 255


def test_reconstruct_cli(tiny, dataset, tmp_path):
    config, checkpoint, _ = tiny
    done = run_module("fomm_tf.reconstruct", f"--config={config}",
                      f"--checkpoint={checkpoint}", f"--dataset_root={dataset}",
                      f"--result_dir={tmp_path}", "--num_videos=2")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "video\tL1"
    assert lines[1].startswith("a_folder\t") and lines[2].startswith("b_video\t")
    assert lines[3].startswith("overall\t")
    assert "mean L1" in lines[-1] and "over 2 videos" in lines[-1]
    missing = run_module("fomm_tf.reconstruct", f"--checkpoint={checkpoint}",
                         f"--dataset_root={tmp_path / 'nothing'}")  # fmt: skip
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith("error: ")
