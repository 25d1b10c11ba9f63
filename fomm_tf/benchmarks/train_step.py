"""Training-step benchmark: seconds per step and where a step's time goes.

    python -m fomm_tf.benchmarks.train_step --config fomm_tf/assets/synthetic-64.yaml \\
        --batch_sizes 8 --steps 5 --breakdown --json train_step.json

Times ``FommTrainer.train_step`` (generator + detector update, discriminator
update when the config trains it) after one warm-up step, with the stand-in
VGG19 weights (same cost as the real ones), and reports the process's peak
resident memory. ``--breakdown`` also times each part of a step on its own,
forward and backward (gradients w.r.t. the part's weights, or its input for the
frozen VGG): the keypoint detector on source and driving, the dense motion
network, the whole generator (dense motion included), the perceptual pyramid
(VGG19 on every scale of prediction and target), the equivariance pass (warp +
detector) and the input pipeline (one batch of synthetic clips from disk).
"""

import json
import resource
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import flags

from fomm_tf import cli, load_config
from fomm_tf.data.pipeline import make_train_dataset
from fomm_tf.synthetic import write_dataset
from fomm_tf.training.objectives import perceptual_depth, perceptual_parts
from fomm_tf.training.session import VGG_RECIPE, build_trainer
from fomm_tf.training.transform import Transform
from fomm_tf.training.vgg19 import NUM_SLICES

FLAGS = flags.FLAGS


def define_flags():
    """The command's flags, defined only when run as a command."""
    flags.DEFINE_string("config", "configs/vox-256.yaml", "Config to benchmark.")
    flags.DEFINE_list("batch_sizes", ["1", "2"], "Batch sizes to time (1..256).")
    flags.register_validator(
        "batch_sizes",
        lambda sizes: all(size.isdigit() and 1 <= int(size) <= 256 for size in sizes),
        message="--batch_sizes must be integers in [1, 256]",
    )
    flags.DEFINE_integer(
        "steps",
        3,
        "Timed steps per batch size (after 1 warm-up).",
        lower_bound=1,
        upper_bound=1000,
    )
    flags.DEFINE_bool("breakdown", False, "Also time each part of a step.")
    flags.DEFINE_string("json", None, "Also write the results here.")


def peak_memory_mib():
    """Peak resident set size of this process (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_seconds(function, steps):
    """Median wall time of ``function()`` over ``steps`` calls after a warm-up."""
    function()
    durations = []
    for _ in range(steps):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    return float(np.median(durations))


def random_batch(batch_size, frame_shape):
    rng = np.random.default_rng(0)
    shape = (batch_size, *frame_shape)
    return {
        key: tf.constant(rng.random(shape, np.float32)) for key in ("source", "driving")
    }


def time_step(trainer, batch, steps):
    """Seconds per ``train_step``."""
    step = tf.function(trainer.train_step)
    return median_seconds(lambda: float(next(iter(step(batch).values()))), steps)


def forward_backward(loss_of, variables):
    """A tf.function: ``loss_of()`` and its gradients w.r.t. ``variables``."""

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            loss = loss_of()
        return tape.gradient(loss, variables)

    return lambda: [g.numpy() for g in run() if g is not None]


def part_timers(trainer, batch):
    """{part: callable running it forward and backward once}."""
    models, cfg = trainer.models, trainer.train_params
    detector, generator = models.kp_detector, models.generator
    source, driving = batch["source"], batch["driving"]
    kp_source = detector(source)
    kp_driving = detector(driving)
    prediction = tf.Variable(generator(source, kp_source, kp_driving)["prediction"])

    def detect():
        kp = [detector(frames, training=True) for frames in (source, driving)]
        return sum(
            tf.reduce_mean(k["value"]) + tf.reduce_mean(k["jacobian"]) for k in kp
        )

    def dense_motion():
        out = generator.dense_motion_network(
            source, kp_driving=kp_driving, kp_source=kp_source, training=True
        )
        return tf.reduce_mean(out["deformation"])

    def generate():
        out = generator(source, kp_source, kp_driving, training=True)
        return tf.reduce_mean(out["prediction"])

    def perceptual(num_slices):
        parts = perceptual_parts(
            trainer.vgg, trainer.pyramid(prediction), trainer.pyramid(driving),
            cfg.scales, num_slices,
        )  # fmt: skip
        return tf.add_n(list(parts.values()))

    def equivariance():
        transform = Transform(tf.shape(driving)[0], cfg.transform_params)
        kp = detector(transform.transform_frame(driving), training=True)
        return tf.reduce_mean(kp["value"])

    timers = {
        "keypoint detector (x2)": (detect, detector.trainable_variables),
        "dense motion": (
            dense_motion,
            generator.dense_motion_network.trainable_variables,
        ),
        "generator (incl. dense motion)": (generate, generator.trainable_variables),
        "equivariance pass": (equivariance, detector.trainable_variables),
    }
    if trainer.vgg is not None:
        depth = perceptual_depth(cfg.loss_weights.perceptual)
        timers["perceptual pyramid"] = (lambda: perceptual(depth), [prediction])
        if depth < NUM_SLICES:  # what a step cost before the unused slices went
            timers["  (all 5 VGG slices, as before)"] = (
                lambda: perceptual(NUM_SLICES),
                [prediction],
            )
    return {name: forward_backward(*spec) for name, spec in timers.items()}


def input_pipeline_timer(cfg, batch_size, workdir):
    """One batch of the training input pipeline, over synthetic heads clips."""
    size = cfg.dataset_params.frame_shape[0]
    root = f"{workdir}/clips"
    write_dataset(root, 16, 16, size, seed=0, world="heads")
    batches = iter(make_train_dataset(cfg, root, batch_size, seed=0))
    return lambda: next(batches)


def breakdown(trainer, cfg, batch, steps):
    """{part: seconds}, each forward + backward on its own."""
    timers = part_timers(trainer, batch)
    seconds = {name: median_seconds(timer, steps) for name, timer in timers.items()}
    with tempfile.TemporaryDirectory() as workdir:
        size = int(batch["source"].shape[0])
        next_batch = input_pipeline_timer(cfg, size, workdir)
        seconds["input pipeline (1 batch)"] = median_seconds(next_batch, steps)
        del next_batch  # stops the pipeline's readers before the clips go
    return seconds


def main(argv):
    del argv
    cfg = load_config(FLAGS.config)
    trainer = build_trainer(cfg, VGG_RECIPE, synchronized_bn=False)
    frame_shape = tuple(cfg.dataset_params.frame_shape)
    rows = []
    for batch_size in map(int, FLAGS.batch_sizes):
        batch = random_batch(batch_size, frame_shape)
        seconds = time_step(trainer, batch, FLAGS.steps)
        row = {
            "batch_size": batch_size,
            "seconds_per_step": seconds,
            "pairs_per_second": batch_size / seconds,
        }
        if FLAGS.breakdown:
            row["breakdown_seconds"] = breakdown(trainer, cfg, batch, FLAGS.steps)
        row["peak_memory_mib"] = peak_memory_mib()
        rows.append(row)
    print(f"{'batch':>6}{'s/step':>10}{'pairs/s':>10}{'peak MiB':>10}")
    for row in rows:
        print(
            f"{row['batch_size']:>6}{row['seconds_per_step']:>10.3f}"
            f"{row['pairs_per_second']:>10.3f}{row['peak_memory_mib']:>10.0f}"
        )
    for row in rows:
        if "breakdown_seconds" in row:
            print(f"\nbatch {row['batch_size']}: part (forward + backward)   s   share")
            for name, seconds in row["breakdown_seconds"].items():
                share = seconds / row["seconds_per_step"]
                print(f"  {name:<32}{seconds:>7.3f}{share:>7.0%}")
    if FLAGS.json:
        with open(FLAGS.json, "w") as file:
            json.dump({"config": FLAGS.config, "rows": rows}, file, indent=2)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
