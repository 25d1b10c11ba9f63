"""Dataset evaluation of the official ``run.py``: reconstruction and animation modes.

Test videos are the test split of the dataset, by the rule training uses
(``video_io.list_videos``): folders of frames, video files (.mp4, .gif, ...)
or png/jpg strips of square frames side by side,
as the official ``FramesDataset`` reads them; frames are resized to the
config's frame shape when they differ. Each evaluated pair writes, like the
official code, a png strip of the predictions to ``<result_dir>/<mode>/png/`` and
the visualisation grid video to ``<result_dir>/<mode>/<name><format>``.
"""

import csv
import dataclasses
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np

from fomm_tf import animation, video_io
from fomm_tf.data.pairs import animation_pairs
from fomm_tf.face_metrics import (
    FACE_METRICS,
    FaceScores,
    compare_frames,
    face_networks_for,
    require_faces,
)
from fomm_tf.inference.normalization_switches import (
    demo_normalization,
    flags_from_keywords,
    keywords,
)
from fomm_tf.output_paths import check_replaceable
from fomm_tf.visualization import Visualizer


@dataclasses.dataclass(frozen=True)
class VideoResult:
    """Per-frame L1 (mean |prediction - driving| in [0, 1] units) of one pair,
    and the face metrics' frames when they were asked for."""

    name: str
    frame_l1: tuple[float, ...]
    faces: FaceScores | None = None

    @property
    def l1(self):
        return float(np.mean(self.frame_l1))


def list_test_videos(dataset_root):
    """The test videos of a dataset, sorted: the test split of training's rule
    (``video_io.list_videos``: ``<dataset_root>/test/*``, or the 80/20 split of a
    root without ``train/`` and ``test/``)."""
    videos = video_io.list_videos(dataset_root, "test")
    if not videos:
        raise video_io.MediaError(f"{dataset_root}: holds no test videos")
    return [os.fspath(video) for video in videos]


def video_name(path):
    """Official naming: the entry name without its extension."""
    return os.path.splitext(os.path.basename(os.fspath(path).rstrip(os.sep)))[0]


def first_frame(path, frame_shape):
    """Frame 0 of a test video, fitted: (1, H, W, C)."""
    frame = next(iter(video_io.iter_frames(path)), None)
    if frame is None:
        raise video_io.MediaError(f"{path}: video has no frames")
    return video_io.fit_frame(frame, frame_shape)[None]


def _video_fps(path):
    if os.path.isdir(path) or path.lower().endswith(video_io.IMAGE_SUFFIXES):
        return video_io.DEFAULT_FOLDER_FPS
    return video_io.video_info(path).fps


def _write_strip(path, predictions):
    strip = np.concatenate(predictions, axis=1)  # frames side by side
    if not cv2.imwrite(path, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
        raise video_io.MediaError(f"{path}: writing failed")


def _frame(value, index):
    """Batch item ``index`` (kept as a batch of 1) of an output or keypoint dict."""
    if isinstance(value, dict):
        return {key: item[index : index + 1] for key, item in value.items()}
    return value[index : index + 1]


def evaluate_pair(animator, visualizer, source, driving_path, flags, out_dir, name,
                  video_format=".mp4", batch_size=4, face_networks=None):  # fmt: skip
    """Drive ``source`` (1, H, W, C) with a test video; writes the png strip and
    the visualisation video; returns the VideoResult (with the face metrics'
    frames when ``face_networks`` are given).

    Reconstruction passes the video's own first frame and no normalisation
    (absolute driving keypoints); the animation mode the config's
    ``normalization_params`` as ``flags``, with ``kp_norm`` drawn on the
    prediction.
    """
    kp_source = animator.keypoints(source)
    chunks = animation.prepared_chunks(
        video_io.iter_video_frames(driving_path, batch_size), animator.frame_shape
    )
    predictions, frame_l1, frame_faces = [], [], []
    vis_path = os.path.join(out_dir, name + video_format)
    with video_io.VideoWriter(vis_path, _video_fps(driving_path)) as vis_writer:
        steps = animation.detected_keypoints(animator, chunks)
        for frames, kp_driving, kp_initial in steps:
            out = animator.frame_outputs(
                source, kp_source, kp_driving, kp_initial, flags
            )
            out.pop("sparse_deformed", None)  # large; not drawn
            if not any(flags):
                out.pop("kp_norm")
            frame_l1 += np.abs(out["prediction"] - frames).mean(axis=(1, 2, 3)).tolist()
            predictions += list(video_io.to_uint8(out["prediction"]))
            if face_networks is not None:
                frame_faces += compare_frames(face_networks, frames, out["prediction"])
            for index in range(len(frames)):
                single = {key: _frame(value, index) for key, value in out.items()}
                driving_kp = kp_driving["value"][index : index + 1]
                vis_writer.write(visualizer.visualize(
                    source, frames[index : index + 1], single,
                    kp_source["value"], driving_kp,
                ))  # fmt: skip
    _write_strip(os.path.join(out_dir, "png", name + ".png"), predictions)
    faces = None if face_networks is None else FaceScores(tuple(frame_faces))
    return VideoResult(name, tuple(frame_l1), faces)


def make_output_dirs(log_dir, mode):
    """``<log_dir>/<mode>`` and its ``png/``; refused (InputError) when that
    folder holds files but no ``png/`` (it is not an earlier evaluation's)."""
    out_dir = os.path.join(os.fspath(log_dir), mode)
    check_replaceable(out_dir, "png")
    os.makedirs(os.path.join(out_dir, "png"), exist_ok=True)
    return out_dir


def mean_l1(results):
    """Mean over all frames of all videos, as the official ``np.mean(loss_list)``."""
    return float(np.mean([value for result in results for value in result.frame_l1]))


def overall(results):
    """All frames of all videos as one VideoResult named ``overall`` (the
    paper's averages are over all frames)."""
    frame_l1 = tuple(value for result in results for value in result.frame_l1)
    faces = None
    if results and results[0].faces is not None:
        faces = FaceScores(tuple(f for result in results for f in result.faces.frames))
    return VideoResult("overall", frame_l1, faces)


def score_row(result, metrics):
    """Video name, frame count and the ``metrics`` of a VideoResult; with face
    metrics also the ground-truth faces found and the generated faces missed."""
    row = {"video": result.name, "frames": len(result.frame_l1), "l1": result.l1}
    faces = result.faces
    if faces is not None:
        row |= {"akd": faces.akd, "mkr": faces.mkr, "aed": faces.aed}
    row = {key: row[key] for key in ("video", "frames", *metrics)}
    if faces is not None:
        row |= {"ground_truth_faces": faces.ground_truth_faces,
                "missing_faces": faces.missing}  # fmt: skip
    return row


def score_rows(results, metrics=("l1",)):
    """A row per video, then the ``overall`` row."""
    return [score_row(result, metrics) for result in (*results, overall(results))]


def _json_value(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def write_metrics(out_dir, results, metrics=("l1",)):
    """``metrics.json`` (per-video L1 and the frame-weighted mean, as
    officially, plus every row) and ``metrics.csv`` (the rows)."""
    rows = score_rows(results, metrics)
    summary = {
        "mean_l1": mean_l1(results),
        "videos": {result.name: result.l1 for result in results},
        "metrics": list(metrics),
        "rows": [{k: _json_value(v) for k, v in row.items()} for row in rows],
    }
    path = os.path.join(out_dir, "metrics.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=2)
    with open(os.path.join(out_dir, "metrics.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def visualizer_for(config):
    return Visualizer.from_config(config.visualizer_params)


METRIC_FORMATS = {"l1": ("L1", ".6f"), "akd": ("AKD", ".3f"), "mkr": ("MKR", ".3f"),
                  "aed": ("AED", ".3f")}  # fmt: skip


def _formatted(row, metric):
    value = row[metric]
    return "n/a" if math.isnan(value) else format(value, METRIC_FORMATS[metric][1])


def print_results(results, label, metrics=("l1",)):
    """A tab-separated table (header, one row per video, ``overall``), then the
    summary line in the paper's format: ``L1 | (AKD, MKR, AED)``."""
    rows = score_rows(results, metrics)
    print("\t".join(["video", *(METRIC_FORMATS[m][0] for m in metrics)]))
    for row in rows:
        print("\t".join([row["video"], *(_formatted(row, m) for m in metrics)]))
    summary = f"{label}: mean L1 {mean_l1(results):.6f} over {len(results)} videos"
    face = [metric for metric in metrics if metric in FACE_METRICS]
    if face:
        names = ", ".join(METRIC_FORMATS[m][0] for m in face)
        values = ", ".join(_formatted(rows[-1], m) for m in face)
        summary += f" | ({names}) ({values})"
    print(summary)


NO_NORMALIZATION = flags_from_keywords(demo_normalization(False, False))


def reconstruct_dataset(animator, config, dataset_root, log_dir, num_videos=None,
                        batch_size=4, metrics=("l1",), face_networks=None):  # fmt: skip
    """Reconstruct the first ``num_videos`` test videos; returns VideoResults
    (with the face metrics' frames when ``metrics`` name one of them, measured
    by ``face_networks``, loaded here when not given).

    The official loop runs ``num_videos + 1`` videos (``if it > num_videos:
    break``); here exactly ``num_videos``.
    """
    params = config.reconstruction_params
    videos = list_test_videos(dataset_root)[: num_videos or params.num_videos]
    face_networks = face_networks or face_networks_for(metrics)
    if face_networks is not None:
        firsts = (first_frame(path, animator.frame_shape)[0] for path in videos)
        require_faces(face_networks, firsts, dataset_root)
    out_dir = make_output_dirs(log_dir, "reconstruction")
    visualizer = visualizer_for(config)
    results = []
    for path in videos:
        source = first_frame(path, animator.frame_shape)
        results.append(evaluate_pair(
            animator, visualizer, source, path, NO_NORMALIZATION, out_dir,
            video_name(path), params.format, batch_size, face_networks,
        ))  # fmt: skip
    write_metrics(out_dir, results, metrics)
    return results


def animate_dataset(animator, config, dataset_root, log_dir, pairs_list=None,
                    num_pairs=None, batch_size=4):  # fmt: skip
    """Run the animation mode; returns a VideoResult per pair (L1 against the
    driving frames, informative only: source and driving differ)."""
    params = config.animate_params
    videos = list_test_videos(dataset_root)
    num_pairs = num_pairs or params.num_pairs
    pairs = animation_pairs([Path(v) for v in videos], num_pairs, pairs_list or None)
    out_dir = make_output_dirs(log_dir, "animation")
    visualizer = visualizer_for(config)
    flags = flags_from_keywords(keywords(params.normalization_params))
    results = []
    for driving, source in pairs:
        name = "-".join(video_name(os.fspath(path)) for path in (driving, source))
        source_frame = first_frame(os.fspath(source), animator.frame_shape)
        results.append(evaluate_pair(
            animator, visualizer, source_frame, os.fspath(driving), flags,
            out_dir, name, params.format, batch_size,
        ))  # fmt: skip
    write_metrics(out_dir, results)
    return results
