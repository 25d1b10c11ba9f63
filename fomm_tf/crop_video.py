"""Face-aware crop of a real video (the need of the official ``crop-video.py``).

    pip install mtcnn   # optional extra, not a fomm-tf requirement
    python -m fomm_tf.crop_video --input_video talk.mp4 --output_video crop.mp4

Faces are detected with MTCNN (weights ship inside the ``mtcnn`` package, runs on
TensorFlow) on every ``--detect_every``-th frame; the largest face of each such
frame forms the face track, whose union box is enlarged and made square as the
official ``compute_bbox`` does. Every frame is cut to that box and resized to
``--image_size`` (256x256 by default), ready for animation or training.
"""

import os

import numpy as np
from absl import flags

from fomm_tf import video_io
from fomm_tf.cli import define_float, errors_as_exit, no_arguments, run
from fomm_tf.config import MAX_SIDE

FLAGS = flags.FLAGS


def define_flags(flag_values=flags.FLAGS):
    """Define the command's flags (only when run as a command, so that
    importing this module never clashes with other modules' flags)."""
    flags.DEFINE_string(
        "input_video", None, "Video (or frame folder) to crop.", flag_values=flag_values
    )
    flags.DEFINE_string(
        "output_video", "crop.mp4", "Cropped video to write.", flag_values=flag_values
    )
    flags.DEFINE_integer(
        "image_size",
        256,
        "Side of the square output frames.",
        lower_bound=8,
        upper_bound=MAX_SIDE,
        flag_values=flag_values,
    )
    define_float(
        "increase",
        0.1,
        "Margin added around the face track (official), a fraction of its size.",
        (0.0, 10.0),
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "detect_every",
        5,
        "Run the face detector on every n-th frame.",
        lower_bound=1,
        upper_bound=10_000,
        flag_values=flag_values,
    )
    define_float(
        "min_confidence",
        0.9,
        "Ignore detections below this confidence.",
        (0.0, 1.0),
        flag_values=flag_values,
    )


INSTALL_HINT = "face cropping needs the optional mtcnn package: pip install mtcnn"


def mtcnn_detector(min_confidence=0.9):
    """A detector ``uint8 RGB image -> [(left, top, right, bottom), ...]``."""
    try:
        from mtcnn import MTCNN
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    model = MTCNN()

    def detect(image):
        boxes = []
        for face in model.detect_faces(image):
            if face["confidence"] >= min_confidence:
                x, y, w, h = face["box"]
                boxes.append((x, y, x + w, y + h))
        return boxes

    return detect


def face_track(path, detect, every=5):
    """Union (left, top, right, bottom) of the largest face on every ``every``-th
    frame, and the frame size (height, width)."""
    boxes, shape = [], None
    for index, frame in enumerate(video_io.iter_frames(path)):
        shape = frame.shape[:2]
        if index % every == 0:
            faces = detect(video_io.to_uint8(video_io.to_float(frame)))
            if faces:
                boxes.append(max(faces, key=lambda b: (b[2] - b[0]) * (b[3] - b[1])))
    if not boxes:
        raise ValueError(f"{path}: no face found")
    boxes = np.array(boxes)
    union = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
    return tuple(int(v) for v in union), shape


def square_crop_box(box, frame_shape, increase=0.1):
    """The official ``compute_bbox`` enlargement: at least ``increase`` on each
    side, more along the shorter side so the box becomes square; clipped to the
    frame, then the largest centred square inside. Returns (top, bottom, left,
    right)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    width_increase = max(increase, ((1 + 2 * increase) * height - width) / (2 * width))
    height_increase = max(
        increase, ((1 + 2 * increase) * width - height) / (2 * height)
    )
    left, right = (
        int(left - width_increase * width),
        int(right + width_increase * width),
    )
    top, bottom = (
        int(top - height_increase * height),
        int(bottom + height_increase * height),
    )
    top, bottom = max(0, top), min(bottom, frame_shape[0])
    left, right = max(0, left), min(right, frame_shape[1])
    side = min(bottom - top, right - left)
    top += (bottom - top - side) // 2
    left += (right - left - side) // 2
    return top, top + side, left, left + side


def check_paths(path, output):
    """Refuse an unusable output (or one that is the input) before any work."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"--input_video {path}: no such file")
    video_io.check_writable(output, (("--input_video", path),))


def crop_video(path, output, detect, image_size=256, increase=0.1, every=5):
    """Detect the face track of ``path`` and write its square crop to ``output``;
    returns the crop box (top, bottom, left, right)."""
    check_paths(path, output)
    info = video_io.video_info(path)
    box, shape = face_track(path, detect, every)
    top, bottom, left, right = square_crop_box(box, shape, increase)
    inputs = (("--input_video", path),)
    with video_io.VideoWriter(output, info.fps, inputs=inputs) as writer:
        for frame in video_io.iter_frames(path):
            crop = frame[top:bottom, left:right]
            writer.write(video_io.fit_frame(crop, (image_size, image_size)))
    return top, bottom, left, right


def main(argv):
    no_arguments(argv)
    with errors_as_exit(extra=(ImportError,)):
        if FLAGS.input_video is None:
            raise ValueError("--input_video is required")
        check_paths(FLAGS.input_video, FLAGS.output_video)
        detect = mtcnn_detector(FLAGS.min_confidence)
        box = crop_video(
            FLAGS.input_video,
            FLAGS.output_video,
            detect,
            FLAGS.image_size,
            FLAGS.increase,
            FLAGS.detect_every,
        )
    top, bottom, left, right = box
    print(f"wrote {FLAGS.output_video}: rows {top}:{bottom}, columns {left}:{right}")


if __name__ == "__main__":
    define_flags()
    run(main)
