"""Image and video input/output for animation, evaluation and data pipelines.

Videos are decoded in-process by OpenCV's FFmpeg backend (:func:`iter_frames`,
the one reader of animation, evaluation, training data and export calibration)
and probed and encoded with the ffmpeg binary that ``imageio-ffmpeg`` ships,
frame by frame (memory does not grow with video length). A "video" may also be
a folder of frames or an image strip of frames side by side.
Every problem with a file raises :class:`MediaError` (a ``ValueError``) with a
one-line message naming the file.
"""

import dataclasses
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from fomm_tf.errors import MediaError
from fomm_tf.output_paths import check_not_input, make_temp_dir, make_temp_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".gif")
# A dataset video: a folder of frames, a video file, or an image strip of frames.
DATASET_SUFFIXES = VIDEO_SUFFIXES + IMAGE_SUFFIXES
SPLITS = ("train", "test")
TEST_FRACTION = 0.2  # official train_test_split(test_size=0.2)
SPLIT_SEED = 0  # official train_test_split(random_state=0)
DEFAULT_FOLDER_FPS = 25.0
_WRITER_CODECS = {".webm": ("libvpx-vp9", "yuv420p"), ".gif": ("gif", "rgb8")}
_DEFAULT_CODEC = ("libx264", "yuv420p")
# A container whose decodable video is shorter than its declared duration by
# more than this many seconds (and this fraction) is reported as truncated.
_TRUNCATION_SECONDS = 1.0
_TRUNCATION_FRACTION = 0.1
# Images and video frames over 64 megapixels are refused from their header,
# before any pixel is decoded (OpenCV reads this limit on its first decode).
MAX_IMAGE_PIXELS = 1 << 26
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
# Result suffixes whose container cannot hold the --audio track.
_SILENT_SUFFIXES = (".gif",)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a driving video holds: frame rate, frame count, (width, height), audio."""

    fps: float
    frame_count: int
    size: tuple[int, int]
    has_audio: bool = False


def _natural_key(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def frame_files(folder):
    """Image files of a folder of frames, in natural order (2.png before 10.png)."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES)]
    return [os.path.join(folder, n) for n in sorted(names, key=_natural_key)]


def _require_file(path):
    if not os.path.exists(path):
        raise MediaError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        raise MediaError(f"{path}: is a directory, expected a file")


def read_image(path):
    """An image file as float32 RGB (H, W, 3) in [0, 1].

    Grayscale is repeated to RGB, alpha is dropped, 16-bit precision is kept and
    the EXIF orientation is applied (OpenCV ``IMREAD_COLOR | IMREAD_ANYDEPTH``).
    """
    path = os.fspath(path)
    _require_file(path)
    data = np.fromfile(path, dtype=np.uint8)
    image = None
    try:
        if data.size:
            image = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    except cv2.error:
        raise MediaError(
            f"{path}: not a readable image (corrupt, or over {MAX_IMAGE_PIXELS} pixels)"
        ) from None
    if image is None:
        raise MediaError(f"{path}: not a readable image")
    scale = float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else 1.0
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / scale
    return np.clip(rgb, 0.0, 1.0)


def to_uint8(images):
    """[0, 1] floats to uint8 with rounding (what a lossless PNG stores)."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_float(image):
    """uint8 or float [0, 1] image(s) as float32 in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return image.astype(np.float32)


def center_crop_square(image):
    """The largest centred square of an (H, W, C) image."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def fit_frame(image, frame_shape, center_crop=False):
    """An image resized to ``frame_shape`` (H, W, ...) as float32 RGB in [0, 1].

    Shrinking uses area averaging (anti-aliased, like the skimage ``resize`` of
    the official demo), enlarging bicubic interpolation.
    """
    image = to_float(image)
    if center_crop:
        image = center_crop_square(image)
    height, width = frame_shape[:2]
    if image.shape[:2] != (height, width):
        shrinking = image.shape[0] > height or image.shape[1] > width
        method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
        image = cv2.resize(image, (width, height), interpolation=method)
    return np.clip(image, 0.0, 1.0)


def _ffmpeg_error_line(error):
    """The most telling line of an imageio-ffmpeg error (ffmpeg's own complaint)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for marker in ("Invalid data", "moov atom", "does not contain any stream", "Error"):
        for line in lines:
            if marker in line:
                return line
    return lines[0] if lines else type(error).__name__


def _probe_video(path):
    """imageio-ffmpeg's header of a video file; MediaError if it is no video."""
    reader = imageio_ffmpeg.read_frames(path)
    try:
        return next(reader)
    except (OSError, RuntimeError, StopIteration) as error:
        if "does not contain any stream" in str(error):
            raise MediaError(f"{path}: video has no frames (no video stream)") from None
        raise MediaError(
            f"{path}: not a readable video ({_ffmpeg_error_line(error)})"
        ) from None
    finally:
        reader.close()


def _count_frames(path):
    try:
        return imageio_ffmpeg.count_frames_and_secs(path)
    except (OSError, RuntimeError) as error:
        raise MediaError(
            f"{path}: not a readable video ({_ffmpeg_error_line(error)})"
        ) from None


def _folder_info(path, fps):
    files = frame_files(path)
    if not files:
        raise MediaError(f"{path}: folder holds no image frames")
    height, width = read_image(files[0]).shape[:2]
    return VideoInfo(fps or DEFAULT_FOLDER_FPS, len(files), (width, height))


def video_info(path, fps=None):
    """Frame rate, exact frame count, (width, height) and audio presence of a video.

    ``path`` is a video file or a folder of frames (``fps`` then defaults to
    ``DEFAULT_FOLDER_FPS``; for files it overrides the container's rate).
    Raises MediaError for a missing, unreadable, truncated or frameless video.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _folder_info(path, fps)
    _require_file(path)
    meta = _probe_video(path)
    _check_frame_size(path, meta)
    frame_count, seconds = _count_frames(path)
    if frame_count == 0:
        raise MediaError(f"{path}: video has no frames")
    declared = meta.get("duration") or 0.0
    if declared - seconds > max(_TRUNCATION_SECONDS, _TRUNCATION_FRACTION * declared):
        raise MediaError(
            f"{path}: truncated or corrupt video ({seconds:.2f} s of frames "
            f"decodable, {declared:.2f} s declared)"
        )
    rate = fps or meta.get("fps") or DEFAULT_FOLDER_FPS
    return VideoInfo(
        float(rate), frame_count, tuple(meta["size"]), "audio_codec" in meta
    )


def _check_frame_size(path, meta):
    """MediaError for frames over ``MAX_IMAGE_PIXELS`` (before any is decoded)."""
    width, height = meta["size"]
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"{path}: frames of {width}x{height} exceed {MAX_IMAGE_PIXELS} pixels"
        )


def _chunks(items, chunk_size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _decoded_frames(path):
    """uint8 RGB frames of a video file, decoded in-process (no ffmpeg process to
    start: ~9x faster for the short clips a training step reads)."""
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise MediaError(f"{path}: not a readable video")
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _strip_frames(path, frame_width):
    """Frames of a png/jpg strip: frames side by side, each ``frame_width`` wide."""
    strip = read_image(path)
    if strip.shape[1] % frame_width:
        raise MediaError(
            f"{path}: strip width {strip.shape[1]} is not a multiple of {frame_width}"
        )
    for left in range(0, strip.shape[1], frame_width):
        yield strip[:, left : left + frame_width]


def iter_frames(path, frame_width=None):
    """The frames of a video, one by one: uint8 (H, W, 3) from video files,
    float32 [0, 1] from a folder of frames or an image strip.

    An image file is read as a strip of frames laid side by side (the png
    format of the official datasets); ``frame_width`` then gives each frame's
    width.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return (read_image(name) for name in frame_files(path))
    _require_file(path)
    if path.lower().endswith(IMAGE_SUFFIXES):
        return _strip_frames(path, frame_width or read_image(path).shape[0])
    return _decoded_frames(path)


def iter_video_frames(path, chunk_size, frame_width=None):
    """Lists of at most ``chunk_size`` frames (see :func:`iter_frames`)."""
    return _chunks(iter_frames(path, frame_width), chunk_size)


def read_frame(path, index):
    """Frame ``index`` of a video (reads up to it)."""
    for position, frame in enumerate(iter_frames(path)):
        if position == index:
            return frame
    raise MediaError(f"{path}: has no frame {index}")


def list_videos(root: str | os.PathLike[str], split: str) -> list[Path]:
    """Videos of ``split`` ('train' or 'test') under the dataset ``root``, sorted.

    With ``root/train`` or ``root/test`` present, ``split`` is that folder
    (official predefined split). Otherwise the videos under ``root`` are split
    80/20 by a seeded permutation (seed 0) of their sorted names: the official
    sklearn ``train_test_split(random_state=0, test_size=0.2)`` split, not the
    same videos but equally deterministic.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: dataset root is not a directory")
    if any((root / name).is_dir() for name in SPLITS):
        if not (root / split).is_dir():
            raise ValueError(f"{root}: has no {split}/ folder")
        return _video_entries(root / split)
    videos = _video_entries(root)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(videos))
    num_test = math.ceil(TEST_FRACTION * len(videos))
    chosen = order[:num_test] if split == "test" else order[num_test:]
    return sorted(videos[i] for i in chosen)


def video_id(path: Path) -> str:
    """Identity of a video: its name before the first '#' (official id_sampling)."""
    return path.name.split("#")[0]


def _video_entries(folder: Path) -> list[Path]:
    """Folders and video files directly inside ``folder``, hidden ones left out."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() or entry.suffix.lower() in DATASET_SUFFIXES:
            entries.append(entry)
    return entries


def has_audio(path):
    """True if ffmpeg sees an audio stream in the file."""
    if os.path.isdir(path):
        return False
    return "audio_codec" in _probe_video(os.fspath(path))


def _run_ffmpeg(arguments, what):
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        detail = (result.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
        raise MediaError(f"{what} ({detail})")


def mux_audio(video_path, audio_source, out_path):
    """``video_path``'s video with ``audio_source``'s audio (if any) into out_path.

    The video stream is copied; the audio is encoded with the container's
    default codec, cut to the video's length.
    """
    _run_ffmpeg(
        [
            "-i",
            os.fspath(video_path),
            "-i",
            os.fspath(audio_source),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0?",
            "-c:v",
            "copy",
            "-shortest",
            os.fspath(out_path),
        ],
        f"{out_path}: copying the audio of {audio_source} failed",
    )


def is_frame_folder_path(path):
    """A result path without a video suffix names a folder of PNG frames."""
    return not os.fspath(path).lower().endswith(VIDEO_SUFFIXES)


def check_writable(path, inputs=(), audio=False):
    """MediaError unless ``path`` can be created as an output without losing
    anything: its folder exists and is writable, it is none of ``inputs``
    (``(flag name, path)`` pairs), and a frames output is not an existing file
    or non-empty folder (a video output may replace an existing regular file).
    With ``audio`` it must be a video file whose container holds audio."""
    path = os.fspath(path)
    if not path.strip():
        raise MediaError("the output path is empty")
    if audio and (
        is_frame_folder_path(path) or path.lower().endswith(_SILENT_SUFFIXES)
    ):
        raise MediaError(
            f"{path}: --audio needs a video file that can hold audio (.mp4, .mov, "
            ".mkv, .avi, .webm), not a .gif or a folder of frames"
        )
    check_not_input(path, inputs)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MediaError(f"{path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise MediaError(f"{path}: directory {folder} is not writable")
    if is_frame_folder_path(path):
        if os.path.isdir(path) and os.listdir(path):
            raise MediaError(
                f"{path}: refusing to replace an existing non-empty folder with "
                "frames (remove it or choose a new path)"
            )
        if os.path.lexists(path) and not os.path.isdir(path):
            raise MediaError(
                f"{path}: exists and is not a folder (a path without a video "
                "suffix writes a folder of PNG frames)"
            )
    elif os.path.isdir(path):
        raise MediaError(f"{path}: is a directory")
    elif os.path.lexists(path) and not os.path.isfile(path):
        raise MediaError(f"{path}: exists and is not a regular file")


class VideoWriter:
    """Writes frames to a video file or a folder of lossless PNG frames, atomically.

    Frames go to a temporary file (or folder) ``.<name>.partial-<pid>-*`` beside
    ``path``; ``close()`` moves it into place with one ``os.replace``, so an
    existing result (a regular file, or an empty folder; a non-empty folder is
    refused, see :func:`check_writable`) is only ever replaced by a complete
    one. Leftovers of a killed run are removed by the next writer of ``path``.
    Used as a context manager, an exception discards the partial output.
    ``audio_from`` copies that file's audio track (if any) into the result
    (video files only).

    The format follows the suffix of ``path``: .mp4/.mov/.mkv/.avi/.m4v (H.264),
    .webm (VP9), .gif; no video suffix means a folder of ``000000.png`` ...
    """

    def __init__(self, path, fps, audio_from=None, crf=18, inputs=()):
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.audio_from = audio_from
        self.crf = crf
        self.frame_count = 0
        check_writable(self.path, inputs, audio_from is not None)
        self._folder = is_frame_folder_path(self.path)
        self._temp = self._make_temp()
        self._encoder = None

    def _make_temp(self):
        """A hidden temporary file (or folder) beside the result."""
        if self._folder:
            return make_temp_dir(self.path, "partial")
        return make_temp_file(self.path, "partial", Path(self.path).suffix)

    def _start_encoder(self, width, height):
        codec, pix_fmt = _WRITER_CODECS.get(
            Path(self.path).suffix.lower(), _DEFAULT_CODEC
        )
        quality = ["-crf", str(self.crf)] if codec.startswith("lib") else []
        self._encoder = imageio_ffmpeg.write_frames(
            self._temp,
            (width, height),
            fps=self.fps,
            codec=codec,
            pix_fmt_out=pix_fmt,
            quality=None,
            macro_block_size=1,
            output_params=quality,
            ffmpeg_log_level="error",
        )
        self._encoder.send(None)

    def write(self, frames):
        """Append frames: uint8 or [0, 1] float arrays (H, W, 3), or a batch of them."""
        frames = np.asarray(frames)
        for frame in frames if frames.ndim == 4 else [frames]:
            frame = frame if frame.dtype == np.uint8 else to_uint8(frame)
            self._write_one(np.ascontiguousarray(frame))

    def _write_one(self, frame):
        if self._folder:
            name = os.path.join(self._temp, f"{self.frame_count:06d}.png")
            if not cv2.imwrite(name, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                raise MediaError(
                    f"{self.path}: writing frame {self.frame_count} failed"
                )
        else:
            if self._encoder is None:
                self._start_encoder(frame.shape[1], frame.shape[0])
            self._encoder.send(frame)
        self.frame_count += 1

    def close(self):
        """Finish the file and move it into place."""
        if self.frame_count == 0:
            self.abort()
            raise MediaError(f"{self.path}: no frames to write")
        try:
            self._finish_encoding()
            self._add_audio()
        except (OSError, RuntimeError) as error:
            self.abort()
            raise MediaError(f"{self.path}: writing failed ({error})") from None
        except MediaError:
            self.abort()
            raise
        self._move_into_place()

    def _finish_encoding(self):
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None

    def _add_audio(self):
        if self.audio_from is None or not has_audio(self.audio_from):
            return
        with_audio = self._make_temp()
        try:
            mux_audio(self._temp, self.audio_from, with_audio)
        except MediaError:
            os.remove(with_audio)
            raise
        os.replace(with_audio, self._temp)

    def _move_into_place(self):
        # rename(2) replaces a regular file or an empty folder in one step
        os.replace(self._temp, self.path)
        self._temp = None

    def abort(self):
        """Discard the partial output; an existing result stays untouched."""
        if self._encoder is not None:
            try:
                self._encoder.close()
            except (OSError, RuntimeError):
                pass
            self._encoder = None
        if self._temp is None:
            return
        if os.path.isdir(self._temp):
            shutil.rmtree(self._temp, ignore_errors=True)
        elif os.path.exists(self._temp):
            os.remove(self._temp)
        self._temp = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
