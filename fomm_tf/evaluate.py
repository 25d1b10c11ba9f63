"""Dataset evaluation, the official ``run.py --mode reconstruction|animate``.

    python -m fomm_tf.evaluate --mode reconstruction --config configs/vox-256.yaml \\
        --checkpoint vox-cpk.pth.tar --dataset_root data/vox-png --result_dir log

``python -m fomm_tf.reconstruct`` and ``python -m fomm_tf.animate_dataset`` are
this command with ``--mode`` set (the names the README documents).

- ``reconstruction``: each test video is reconstructed from its first frame
  (absolute driving keypoints); prints the ``--metrics`` per video and overall
  (L1 in [0, 1] pixel units; with the eval extra the paper's AKD, MKR and AED,
  see ``fomm_tf.face_metrics``) and writes
  ``<result_dir>/reconstruction/png/<video>.png`` (prediction strip),
  ``<result_dir>/reconstruction/<video>.mp4`` (visualisation),
  ``metrics.json`` and ``metrics.csv``.
- ``animation``: pairs (driving video, source video) come from the
  ``pairs_list`` CSV (columns ``distance, source, driving, frame``; rows whose
  videos are not in the test set are skipped, the first ``num_pairs`` kept;
  ``frame`` is unused, as in the official code) or, without a CSV, are drawn at
  random with the official ``PairedDataset`` rule (seed 0). The first frame of
  the source video is driven by the driving video with the config's
  ``normalization_params``; writes ``<result_dir>/animation/png/<driving>-<source>.png``
  and the visualisation video.
"""

from absl import flags

from fomm_tf import animation, cli, evaluation
from fomm_tf.animate import MAX_BATCH
from fomm_tf.checkpoints import load_checkpoint
from fomm_tf.cli import errors_as_exit, no_arguments
from fomm_tf.config import MAX_COUNT
from fomm_tf.errors import InputError
from fomm_tf.face_metrics import (
    FACE_METRICS,
    METRICS,
    face_networks_for,
    parse_metrics,
)

MODES = ("reconstruction", "animation")
FLAGS = flags.FLAGS


def define_flags(mode="reconstruction", flag_values=FLAGS):
    """Define the command's flags (only when run as a command); ``mode`` is
    the default of ``--mode``."""
    flags.DEFINE_enum(
        "mode", mode, MODES, "Official run.py mode.", flag_values=flag_values
    )
    flags.DEFINE_string(
        "config", None, "Model config YAML (official format).", flag_values=flag_values
    )
    flags.DEFINE_string(
        "checkpoint",
        None,
        "Official .pth.tar or converted .keras file.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "dataset_root",
        None,
        "Dataset folder holding test/; default the config's root_dir.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "result_dir",
        "log",
        "Output folder (the official --log_dir).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "batch_size",
        4,
        "Frames per inference batch.",
        lower_bound=1,
        upper_bound=MAX_BATCH,
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "num_videos",
        None,
        "reconstruction: evaluate at most this many videos; default "
        "reconstruction_params.num_videos.",
        lower_bound=1,
        upper_bound=MAX_COUNT,
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "pairs_list",
        None,
        "animation: CSV of pairs; default the config's dataset_params.pairs_list; "
        "'random' draws random pairs.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "num_pairs",
        None,
        "animation: at most this many pairs; default animate_params.num_pairs.",
        lower_bound=1,
        upper_bound=MAX_COUNT,
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "metrics",
        ["l1"],
        f"reconstruction: metrics among {','.join(METRICS)} (akd, mkr, aed: the "
        "paper's face metrics, need the eval extra).",
        flag_values=flag_values,
    )
    flags.mark_flag_as_required("checkpoint", flag_values=flag_values)


def models_and_dataset_root(values):
    """The models of --config/--checkpoint and the dataset root (flag or config)."""
    models = load_checkpoint(values.config, values.checkpoint)
    root = values.dataset_root or models.config.dataset_params.root_dir
    if root is None:
        raise ValueError("--dataset_root is required (the config has no root_dir)")
    return models, root


def checked_metrics(values):
    """The --metrics of the flag values; face metrics only in reconstruction."""
    metrics = parse_metrics(values.metrics)
    face = [metric for metric in metrics if metric in FACE_METRICS]
    if face and values.mode != "reconstruction":
        raise InputError(
            f"--metrics {','.join(face)}: reconstruction mode only (they compare "
            "a reconstruction with its ground truth)"
        )
    return metrics


def evaluate(values):
    """Run the mode of the flag values; returns (VideoResults, summary label,
    metrics)."""
    metrics = checked_metrics(values)
    face_networks = face_networks_for(metrics)  # before the model: fails fast
    models, root = models_and_dataset_root(values)
    animator = animation.KerasAnimator(models)
    if values.mode == "reconstruction":
        results = evaluation.reconstruct_dataset(
            animator, models.config, root, values.result_dir, values.num_videos,
            values.batch_size, metrics, face_networks,
        )  # fmt: skip
        return results, "Reconstruction loss", metrics
    pairs_list = values.pairs_list or models.config.dataset_params.pairs_list
    if pairs_list == "random":
        pairs_list = None
    results = evaluation.animate_dataset(
        animator, models.config, root, values.result_dir, pairs_list,
        values.num_pairs, values.batch_size,
    )  # fmt: skip
    return results, "Animation (L1 to driving)", metrics


def run(values):
    """The command on parsed flag values: prints the table, or exits with a
    one-line ``error: ...`` (status 1)."""
    with errors_as_exit():
        results, label, metrics = evaluate(values)
    evaluation.print_results(results, label, metrics)


def main(argv):
    no_arguments(argv)
    run(FLAGS)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
