"""Issue 8, data loss: no command deletes or replaces what it did not create.

Each test makes its own small files, runs the command (as a subprocess, or its
library function), and checks the one-line error and that every pre-existing
file is byte-identical afterwards.
"""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from export import files
from fomm_tf import output_paths, synthetic, video_io
from fomm_tf.errors import ExportError, MediaError
from tests.harness import run_module


def snapshot(root):
    """Every file under ``root`` (hidden ones too) with its bytes."""
    root = Path(root)
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def assert_one_line_error(done, line):
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == line


def dead_pid():
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def user_files(tmp_path):
    """A user's folder: a source image, a driving-frames folder, a video-named
    file and a sub-folder; the whole tree is compared after each command."""
    folder = tmp_path / "work"
    (folder / "frames").mkdir(parents=True)
    (folder / "notes" / "deep").mkdir(parents=True)
    (folder / "notes" / "deep" / "keep.txt").write_text("precious\n")
    frame = np.full((8, 8, 3), 100, np.uint8)
    for index in range(2):
        cv2.imwrite(str(folder / "frames" / f"{index:06d}.png"), frame)
    cv2.imwrite(str(folder / "source.png"), frame)
    (folder / "v.mp4").write_bytes(b"not decoded: the output check comes first")
    (folder / "model.keras").write_bytes(b"a converted checkpoint")
    (folder / "config.yaml").write_text("model_params: {}\n")
    return folder


def animate(folder, result, driving="frames", source="source.png"):
    return run_module(
        "fomm_tf.animate",
        f"--source_image={folder / source}",
        f"--driving_video={folder / driving}",
        f"--result_video={result}",
        "--noprogress",
        cwd=folder,
    )


def test_animate_refuses_an_existing_folder_as_frames_output(user_files):
    before = snapshot(user_files)
    done = animate(user_files, user_files)
    assert_one_line_error(
        done,
        f"error: {user_files}: refusing to replace an existing non-empty folder "
        "with frames (remove it or choose a new path)",
    )
    done = animate(user_files, user_files / "notes")
    assert done.returncode == 1 and "non-empty folder" in done.stderr
    assert snapshot(user_files) == before


def test_animate_refuses_an_output_that_is_an_input(user_files):
    before = snapshot(user_files)
    frames = user_files / "frames"
    assert_one_line_error(
        animate(user_files, frames),
        f"error: output {frames} is the same file as --driving_video {frames}",
    )
    video = user_files / "v.mp4"
    assert_one_line_error(
        animate(user_files, video, driving="v.mp4"),
        f"error: output {video} is the same file as --driving_video {video}",
    )
    source = user_files / "source.png"
    assert_one_line_error(
        animate(user_files, source),
        f"error: output {source} is the same file as --source_image {source}",
    )
    assert snapshot(user_files) == before


def test_crop_video_refuses_its_input_as_output(user_files):
    before = snapshot(user_files)
    video = user_files / "v.mp4"
    done = run_module(
        "fomm_tf.crop_video", f"--input_video={video}", "--output_video=v.mp4",
        cwd=user_files,
    )  # fmt: skip
    assert_one_line_error(
        done, f"error: output v.mp4 is the same file as --input_video {video}"
    )
    assert snapshot(user_files) == before


def test_convert_refuses_its_checkpoint_as_output(user_files):
    before = snapshot(user_files)
    checkpoint = user_files / "model.keras"
    done = run_module(
        "fomm_tf.convert", f"--config={user_files / 'config.yaml'}",
        f"--checkpoint={checkpoint}", f"--output={checkpoint}",
    )  # fmt: skip
    assert_one_line_error(
        done,
        f"error: --output {checkpoint} is the same file as --checkpoint {checkpoint}",
    )
    assert snapshot(user_files) == before


@pytest.mark.parametrize("name", ["../../x", "..", ".", "a/b", ""])
def test_saved_model_names_are_single_components(tmp_path, name):
    out = tmp_path / "a" / "b" / "serving"
    out.mkdir(parents=True)
    done = run_module(
        "export.saved_model", "--random_weights", f"--out={out}",
        f"--model_name={name}",
    )  # fmt: skip
    assert_one_line_error(
        done,
        "export.saved_model: error: --model_name must be a single folder name, "
        f"got {name!r}",
    )
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == [
        "a", "a/b", "a/b/serving",
    ]  # fmt: skip


def test_exports_refuse_folders_they_did_not_write(tmp_path):
    from export import saved_model, tflite

    mode = tmp_path / "float32"
    mode.mkdir()
    (mode / "mine.txt").write_text("not an export")
    target = tmp_path / "fomm" / "1"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("not an export")
    before = snapshot(tmp_path)
    with pytest.raises(ExportError, match="holds no model_card.json"):
        tflite.check_outputs(tmp_path, ["float32"])
    with pytest.raises(ExportError, match="holds no saved_model.pb"):
        saved_model.check_target(tmp_path, "fomm", 1)
    assert snapshot(tmp_path) == before


def test_synthetic_refuses_a_non_empty_folder(user_files):
    before = snapshot(user_files)
    with pytest.raises(ValueError, match="not an empty directory"):
        synthetic.write_dataset(user_files, num_videos=2, num_frames=2, size=16, seed=0)
    assert snapshot(user_files) == before


def write_export(path, text):
    path.mkdir()
    (path / "model_card.json").write_text(text)


@pytest.mark.parametrize("atomic_exchange", [True, False])
def test_export_swap_replaces_an_earlier_export(tmp_path, monkeypatch, atomic_exchange):
    if not atomic_exchange:
        monkeypatch.setattr(files, "exchange", lambda first, second: False)
    target = tmp_path / "float32"
    write_export(target, "old")
    with files.atomic_directory(target, "model_card.json") as staging:
        (staging / "model_card.json").write_text("new")
    assert snapshot(tmp_path) == {"float32/model_card.json": b"new"}


def test_kill_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    """Without an atomic exchange, a kill after the old output was moved away
    leaves it in ``.float32.old-*``; the next run puts it back first."""
    monkeypatch.setattr(files, "exchange", lambda first, second: False)
    target = tmp_path / "float32"
    write_export(target, "old")
    real_replace = os.replace
    calls = []

    def killed_after_first(source, destination):
        calls.append(destination)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(source, destination)

    monkeypatch.setattr(files.os, "replace", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_directory(target, "model_card.json") as staging:
            (staging / "model_card.json").write_text("new")
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert not target.exists()
    # the killed run's process id is now a dead one
    (old,) = tmp_path.glob(".float32.old-*")
    os.rename(old, old.with_name(f".float32.old-{dead_pid()}-x"))
    files.recover(target)
    assert snapshot(tmp_path) == {"float32/model_card.json": b"old"}


def test_stale_leftovers_are_removed_by_the_next_run(tmp_path):
    pid = dead_pid()
    target = tmp_path / "float32"
    write_export(target, "old")
    (tmp_path / f".float32.tmp-{pid}-a").mkdir()
    (tmp_path / f".float32.old-{pid}-b" / "float32").mkdir(parents=True)
    live = tmp_path / f".float32.tmp-{os.getpid()}-c"
    live.mkdir()
    with files.atomic_directory(target, "model_card.json") as staging:
        (staging / "model_card.json").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "float32"]
    stale_video = tmp_path / f".out.mp4.partial-{pid}-x.mp4"
    stale_video.write_bytes(b"half a video")
    with video_io.VideoWriter(tmp_path / "out.mp4", fps=10) as writer:
        writer.write(np.zeros((2, 16, 16, 3), np.uint8))
    assert not stale_video.exists() and (tmp_path / "out.mp4").is_file()


def test_video_writer_refuses_unsafe_outputs(tmp_path):
    image = tmp_path / "image.png"
    image.write_bytes(b"an image")
    with pytest.raises(MediaError, match="exists and is not a folder"):
        video_io.VideoWriter(image, fps=10)
    with pytest.raises(MediaError, match="output path is empty"):
        video_io.check_writable("")
    with pytest.raises(ValueError, match="same file as --input_video"):
        video_io.VideoWriter(image, 10, inputs=(("--input_video", image),))
    assert image.read_bytes() == b"an image"
    assert output_paths.same_file(tmp_path / "x" / ".." / "image.png", image)


def test_weight_copies_of_killed_loads_are_removed_by_the_next_load(
    tmp_path, monkeypatch
):
    import tempfile

    from fomm_tf.animation import DEFAULT_CHECKPOINT
    from fomm_tf.checkpoints import load_checkpoint

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f".fomm-tf.weights-{dead_pid()}-a"
    stale.mkdir()
    (stale / "model.weights.h5").write_bytes(b"a killed load's copy")
    live = tmp_path / f".fomm-tf.weights-{os.getpid()}-b"
    live.mkdir()
    unrelated = tmp_path / "fomm-tf.weights-1-c"
    unrelated.write_bytes(b"not ours")
    load_checkpoint(None, DEFAULT_CHECKPOINT)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, unrelated.name]
