"""Animate a source image with a driving video (official ``demo.py``).

    python -m fomm_tf.animate --source_image face.jpg --driving_video talk.mp4 \\
        --result_video result.mp4

Without ``--config``/``--checkpoint`` the bundled model in ``fomm_tf/assets`` is
used. ``--backend tflite --tflite_dir DIR`` animates with the ``.tflite`` files
that ``python -m export.tflite`` wrote (``DIR`` is one mode directory, e.g.
``exported/vox/float32``) through LiteRT only, keypoint normalisation inside the
TFLite generator graph, as a phone app runs it. See ``fomm_tf.animation`` for
the library API.
"""

import os

from absl import flags

from fomm_tf import animation, cli
from fomm_tf.checkpoints import is_converted, load_checkpoint
from fomm_tf.cli import define_float, errors_as_exit, no_arguments
from fomm_tf.inference.precision import PRECISIONS, check_fast_here

BACKENDS = ("keras", "tflite")
MAX_BATCH = 256
MAX_FRAMES = 10_000_000
FPS_RANGE = (1.0, 1000.0)

FLAGS = flags.FLAGS


def define_flags(flag_values=flags.FLAGS):
    """Define the command's flags (only when run as a command, so that
    importing this module never clashes with other modules' flags)."""
    flags.DEFINE_enum(
        "backend",
        "keras",
        BACKENDS,
        "keras: the Keras model from --config/--checkpoint; tflite: the .tflite "
        "files of --tflite_dir through the LiteRT interpreter only.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "tflite_dir",
        None,
        "With --backend tflite: a mode directory written by python -m export.tflite "
        "(model_card.json + .tflite files); replaces --config/--checkpoint.",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "precision",
        "float32",
        PRECISIONS,
        "Keras backend: float32, or bfloat16 for the generator's decoder (about "
        "2x faster on CPUs with avx512_bf16 or amx_bf16; keypoints and warps "
        "stay float32; PSNR in the README).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "config",
        None,
        "Model config YAML (official format). Default: the bundled config when "
        "--checkpoint is the bundled model; not needed for a converted .keras file.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "checkpoint",
        os.fspath(animation.DEFAULT_CHECKPOINT),
        "Official .pth.tar checkpoint or a converted .keras file.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "source_image",
        os.fspath(animation.SAMPLE_SOURCE),
        "Source photo (JPEG/PNG/WebP/BMP/TIFF; RGBA, grayscale and 16-bit accepted).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "driving_video",
        os.fspath(animation.SAMPLE_DRIVING),
        "Driving video (mp4/mov/avi/mkv/webm/gif) or a folder of frames.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "result_video",
        "result.mp4",
        "Output video (.mp4/.mov/.mkv/.avi/.webm/.gif); a path without a video "
        "suffix writes a folder of lossless PNG frames.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "relative",
        True,
        "Transfer the driving motion relative to the initial driving frame "
        "(relative keypoint movement and jacobians); --norelative uses absolute "
        "driving keypoints (the official demo's default).",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "adapt_scale",
        True,
        "Scale the relative movement by sqrt(source / initial driving keypoint hull "
        "area); only with --relative. --noadapt_scale as the official default.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "find_best_frame",
        False,
        "Measure the motion from the driving frame whose pose is closest to the "
        "source (68 face landmarks with the eval extra and a face in the source, "
        "else model keypoints; centred and scaled by hull area).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "best_frame",
        None,
        "Measure the motion from this driving frame (0-based).",
        lower_bound=0,
        upper_bound=MAX_FRAMES,
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "audio",
        False,
        "Copy the driving video's audio into the result.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "batch_size",
        4,
        "Driving frames per inference batch.",
        lower_bound=1,
        upper_bound=MAX_BATCH,
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "side_by_side",
        False,
        "Write source | driving | result panels, keypoints drawn on the first two.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "center_crop",
        False,
        "Crop the source and driving frames to a centred square before resizing.",
        flag_values=flag_values,
    )
    define_float(
        "fps",
        None,
        "Frame rate of the result; default the driving video's (25 for frames).",
        FPS_RANGE,
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "progress", True, "Show a progress bar on stderr.", flag_values=flag_values
    )


def _model_paths(config, checkpoint):
    """The config and checkpoint to load; a clear error if the bundled model is
    requested but not installed."""
    bundled = os.path.abspath(checkpoint) == os.fspath(animation.DEFAULT_CHECKPOINT)
    if bundled:
        config = config or os.fspath(animation.DEFAULT_CONFIG)
        for path in (config, checkpoint):
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"bundled model file {path} is not installed; pass --config "
                    "and --checkpoint"
                )
    if config is None and not is_converted(checkpoint):
        raise ValueError(f"{checkpoint}: an official checkpoint needs --config")
    return config, checkpoint


def animator_loader(values):
    """A function loading the chosen backend's ``Animator``. The model flags are
    checked here (cheaply, before any media is read); flags of the other
    backend are rejected rather than silently ignored."""
    if values.backend == "tflite":
        if not values.tflite_dir:
            raise ValueError("--backend tflite needs --tflite_dir")
        for name in ("config", "checkpoint"):
            if values[name].present:
                raise ValueError(
                    f"--{name} does not apply to --backend tflite (the model is "
                    "--tflite_dir)"
                )
        if values.precision != "float32":
            raise ValueError("--precision applies to --backend keras only")
        from fomm_tf.inference.litert_runner import LiteRTRunner

        return lambda: LiteRTRunner(values.tflite_dir)
    if values.tflite_dir:
        raise ValueError("--tflite_dir needs --backend tflite")
    config, checkpoint = _model_paths(values.config, values.checkpoint)
    check_fast_here(values.precision)
    return lambda: animation.KerasAnimator(
        load_checkpoint(config, checkpoint), optimize=True, precision=values.precision
    )


def options_from_flags(values):
    """``AnimationOptions`` from parsed flag values."""
    return animation.AnimationOptions(
        relative=values.relative,
        adapt_scale=values.adapt_scale,
        find_best_frame=values.find_best_frame,
        best_frame=values.best_frame,
        batch_size=values.batch_size,
        center_crop=values.center_crop,
        side_by_side=values.side_by_side,
        audio=values.audio,
        fps=values.fps,
    )


def animate_from_flags(values):
    """Load the model and animate as the flag values say; returns the
    AnimationResult. Inputs are checked before the model is loaded."""
    load_animator = animator_loader(values)
    for name in ("source_image", "driving_video"):
        if not os.path.exists(values[name].value):
            raise FileNotFoundError(f"--{name} {values[name].value}: no such file")
    options = options_from_flags(values)
    animation.check_inputs(
        values.source_image, values.driving_video, values.result_video, options
    )
    return animation.animate_video(
        load_animator(),
        values.source_image,
        values.driving_video,
        values.result_video,
        options,
        show_progress=values.progress,
    )


def run(values):
    """The command on parsed flag values: prints what it wrote, or exits with a
    one-line ``error: ...`` (status 1)."""
    with errors_as_exit():
        result = animate_from_flags(values)
    if values.best_frame is not None:
        print(f"Best frame: {result.initial_frame}")
    elif values.find_best_frame:
        print(f"Best frame: {result.initial_frame} (by {result.best_frame_by})")
    print(f"wrote {result.path}: {result.frame_count} frames at {result.fps:g} fps")


def main(argv):
    no_arguments(argv)
    run(FLAGS)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
