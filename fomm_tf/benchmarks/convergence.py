"""Convergence check: held-out reconstruction L1 against the no-motion baseline.

Reconstruction as the official ``reconstruction.py``: the first frame of a test
video is the source, every frame in turn the driving frame, keypoints absolute.
The no-motion baseline predicts the source frame itself.  Either evaluate a
trained model::

    python -m fomm_tf.benchmarks.convergence \\
        --model fomm_tf/assets/synthetic-64.keras \\
        --dataset_root data/synthetic-64

or train a tiny config on seeded synthetic clips first (the default)::

    python -m fomm_tf.benchmarks.convergence --steps 300 --json convergence.json
"""

import json
import os
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from fomm_tf import load_checkpoint
from fomm_tf.data.pipeline import make_video_dataset
from fomm_tf.synthetic import write_dataset
from fomm_tf.training.session import VGG_RECIPE, TrainOptions, train

BUNDLED_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "assets", "synthetic-64.yaml"
)

FLAGS = flags.FLAGS


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_string("model", None, "Evaluate this .keras model (no training).")
    flags.DEFINE_string(
        "config", BUNDLED_CONFIG, "Config trained when --model is unset."
    )
    flags.DEFINE_string("dataset_root", None, "Dataset with a test/ split.")
    flags.DEFINE_integer("steps", 300, "Training steps of the tiny config.")
    flags.DEFINE_integer("seed", 0, "Seed of the synthetic clips and the training.")
    flags.DEFINE_integer("max_videos", 40, "Test videos evaluated at most.")
    flags.DEFINE_string("json", None, "Also write the results here.")


def reconstruction_l1(models, videos):
    """(model L1, no-motion L1): mean |.| over every frame of every video."""
    model_errors, baseline_errors = [], []
    for video in videos:
        frames = tf.convert_to_tensor(video)  # (T, H, W, 3)
        source = tf.repeat(frames[:1], len(video), axis=0)
        kp_source = models.kp_detector(frames[:1], training=False)
        kp_source = {k: tf.repeat(v, len(video), axis=0) for k, v in kp_source.items()}
        kp_driving = models.kp_detector(frames, training=False)
        out = models.generator(
            source, kp_source=kp_source, kp_driving=kp_driving, training=False
        )
        model_errors.append(float(tf.reduce_mean(tf.abs(out["prediction"] - frames))))
        baseline_errors.append(float(tf.reduce_mean(tf.abs(source - frames))))
    return float(np.mean(model_errors)), float(np.mean(baseline_errors))


def test_videos(cfg, root, limit):
    """Up to ``limit`` test-split videos as (T, H, W, 3) arrays."""
    dataset = make_video_dataset(cfg, root, "test").take(limit)
    return [example["video"].numpy() for example in dataset]


def train_tiny(config, workdir, steps, seed):
    """Train ``config`` on fresh synthetic clips; returns (model path, data root)."""
    root = os.path.join(workdir, "data")
    write_dataset(root, num_videos=60, num_frames=16, size=64, seed=seed)
    log_dir = os.path.join(workdir, "run")
    steps_per_epoch = max(1, steps // 3)
    train(
        TrainOptions(
            config=config,
            log_dir=log_dir,
            dataset_root=root,
            vgg_weights=VGG_RECIPE,
            epochs=3,
            steps_per_epoch=steps_per_epoch,
            seed=seed,
            save_every_steps=0,
            verbose=2,
        )
    )
    return os.path.join(log_dir, "models.keras"), root


def evaluate(model_path, root, limit):
    """Results of ``model_path`` on the test split of ``root``."""
    models = load_checkpoint(None, model_path)
    videos = test_videos(models.config, root, limit)
    model_l1, baseline_l1 = reconstruction_l1(models, videos)
    return {
        "model": model_path,
        "test_videos": len(videos),
        "reconstruction_l1": model_l1,
        "no_motion_l1": baseline_l1,
        "ratio": model_l1 / baseline_l1,
    }


def print_table(results):
    print(f"{'quantity':<24}{'value':>12}")
    for key in ("test_videos", "reconstruction_l1", "no_motion_l1", "ratio"):
        value = results[key]
        text = f"{value:.5f}" if isinstance(value, float) else str(value)
        print(f"{key:<24}{text:>12}")


def main(argv):
    del argv
    start = time.time()
    with tempfile.TemporaryDirectory() as workdir:
        if FLAGS.model:
            if not FLAGS.dataset_root:
                print("error: --model needs --dataset_root", file=sys.stderr)
                sys.exit(1)
            model, root = FLAGS.model, FLAGS.dataset_root
        else:
            model, root = train_tiny(FLAGS.config, workdir, FLAGS.steps, FLAGS.seed)
        results = evaluate(model, root, FLAGS.max_videos)
    results["wall_seconds"] = round(time.time() - start, 1)
    print_table(results)
    if FLAGS.json:
        with open(FLAGS.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
