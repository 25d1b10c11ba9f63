"""FommTrainer: schedule, freezing, NaN guard and replica-count invariance.

The distributed tests run training in subprocesses (logical CPU devices and
worker clusters must be configured before TensorFlow starts) with SGD with
momentum: unlike Adam, its update is proportional to the gradient, so a wrong
loss scaling across replicas would show, and its momentum slots exercise the
optimizer state.  With 2 replicas the networks use synchronised batch norm,
whose statistics are those of the global batch, so the runs match 1 replica.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.harness import REPO, differences, tiny_config, write_config


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    from fomm_tf.synthetic import write_dataset

    root = tmp_path_factory.mktemp("synthetic") / "data"
    write_dataset(root, num_videos=8, num_frames=6, size=64, seed=5)
    return root


# A training run in a fresh interpreter: logical CPUs, strategy, SGD, and
# optionally a SIGKILL of itself right after a given (epoch, step).
RUN_SCRIPT = """
import json, os, signal, sys
import tensorflow as tf
args = json.loads(sys.argv[1])
if args["logical_cpus"] > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * args["logical_cpus"])
import keras
from fomm_tf.training import TrainOptions, make_strategy, train

def sgd(train_params):
    rates = (train_params.lr_generator, train_params.lr_discriminator,
             train_params.lr_kp_detector)
    return tuple(keras.optimizers.SGD(rate, momentum=0.9) for rate in rates)

class KillAt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if [self.epoch, batch + 1] == args["kill_at"]:
            os.kill(os.getpid(), signal.SIGKILL)

train(TrainOptions(**args["options"]), strategy=make_strategy(args["devices"]),
      callbacks=[KillAt()], optimizers=sgd)
"""

# 2 epochs x 3 steps, global batch 4; checkpoints at (0, 2), (1, 0), (1, 2).
# Small rates keep 6 steps in the regime where the float rounding of different
# replica splits stays below 1e-5 (the detector's gradients amplify it).
SMALL_RATES = dict(
    train_params__lr_generator=2e-6,
    train_params__lr_discriminator=2e-6,
    train_params__lr_kp_detector=2e-6,
)
STEPS_PER_EPOCH = 3
SAVE_EVERY_STEPS = 2


def start_run(
    workdir,
    name,
    data,
    logical_cpus=1,
    devices=None,
    env=None,
    kill_at=None,
    **overrides,
):
    """Start ``RUN_SCRIPT`` training into ``workdir/name``; returns the process.

    The script goes in by ``-c``: a script file rewritten for each run could be
    read truncated by a run still starting, which then did nothing and exited 0.
    """
    options = dict(
        config=os.fspath(workdir / "tiny.yaml"),
        log_dir=os.fspath(workdir / name),
        dataset_root=os.fspath(data),
        steps_per_epoch=STEPS_PER_EPOCH,
        seed=3,
        save_every_steps=SAVE_EVERY_STEPS,
        verbose=0,
        **overrides,
    )
    args = dict(
        options=options, logical_cpus=logical_cpus, devices=devices, kill_at=kill_at
    )
    environment = {**os.environ, **(env or {}), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT, json.dumps(args)],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def worker_env(workers, index):
    tf_config = {
        "cluster": {"worker": workers},
        "task": {"type": "worker", "index": index},
    }
    return {"TF_CONFIG": json.dumps(tf_config)}


def finish(process, expected_code=0):
    output, _ = process.communicate(timeout=900)
    assert process.returncode == expected_code, output[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, synthetic_root):
    """All subprocess runs, started together (tracing is single-threaded):
    1 replica, 2 mirrored replicas, 2 workers, and one killed then resumed."""
    workdir = tmp_path_factory.mktemp("runs")
    write_config(workdir / "tiny.yaml", tiny_config(**SMALL_RATES))
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    # One replica with synchronised batch norm: the same (one-pass) variance
    # arithmetic as the replicated runs.
    sync = {"synchronized_bn": True}
    processes = {
        "initial": start_run(workdir, "initial", synthetic_root, epochs=0),
        "one_replica": start_run(workdir, "one_replica", synthetic_root, **sync),
        "mirrored": start_run(
            workdir, "mirrored", synthetic_root, 2, ["/cpu:0", "/cpu:1"]
        ),
        "worker0": start_run(
            workdir, "multiworker", synthetic_root, env=worker_env(workers, 0)
        ),
        "worker1": start_run(
            workdir, "multiworker", synthetic_root, env=worker_env(workers, 1)
        ),
        "killed": start_run(workdir, "killed", synthetic_root, kill_at=[1, 3], **sync),
    }
    finish(processes.pop("killed"), expected_code=-signal.SIGKILL)
    processes["resumed"] = start_run(workdir, "killed", synthetic_root, **sync)
    for process in processes.values():
        finish(process)
    return workdir


def log_values(run):
    """Per-epoch loss values of a run's log.txt."""
    lines = (run / "log.txt").read_text().splitlines()
    return [
        [float(term.split(" - ")[1]) for term in line.split(") ")[1].split("; ")]
        for line in lines
    ]


@pytest.mark.slow
def test_two_replicas_match_one_replica(runs):
    reference, mirrored = runs / "one_replica", runs / "mirrored"
    # Training moved the weights far more than the tolerance (so a 2x gradient
    # scaling error would show), and both replica counts moved them alike.
    moved, _ = differences(
        runs / "initial" / "models.keras", reference / "models.keras"
    )
    assert moved > 1e-2
    learned, statistics = differences(
        reference / "models.keras", mirrored / "models.keras"
    )
    assert learned < 1e-5
    # The one-pass variance E[x^2] - E[x]^2 of synchronised BN cancels digits
    # when |mean| >> std; the moving statistics agree to rounding of that.
    assert statistics < 2e-3
    reference_log, mirrored_log = log_values(reference), log_values(mirrored)
    assert len(reference_log) == len(mirrored_log) == 2
    np.testing.assert_allclose(reference_log, mirrored_log, rtol=1e-4)


@pytest.mark.slow
def test_two_workers_match_one_replica(runs):
    reference, multiworker = runs / "one_replica", runs / "multiworker"
    learned, statistics = differences(
        reference / "models.keras", multiworker / "models.keras"
    )
    assert learned < 1e-5 and statistics < 2e-3
    scratch = [
        p for p in (multiworker / "checkpoints").iterdir() if "scratch" in p.name
    ]
    assert not scratch


@pytest.mark.slow
def test_sigkill_mid_epoch_resumes_to_the_same_result(runs):
    reference, resumed = runs / "one_replica", runs / "killed"
    assert differences(reference / "models.keras", resumed / "models.keras") == (0, 0)
    # The killed run's epoch-1 loss means (restored mid-epoch) match too.
    assert (reference / "log.txt").read_text() == (resumed / "log.txt").read_text()
    assert len(log_values(resumed)) == 2


def test_milestones_decay_learning_rate_by_epoch():
    import keras

    from fomm_tf.training.learning_rate_milestones import (
        MilestoneLearningRate,
        milestone_learning_rate,
    )

    optimizer = keras.optimizers.Adam(learning_rate=2e-4)
    callback = MilestoneLearningRate([(optimizer, 2e-4)], milestones=(60, 90))
    expected = {0: 2e-4, 59: 2e-4, 60: 2e-5, 89: 2e-5, 90: 2e-6, 99: 2e-6}
    for epoch, rate in expected.items():
        callback.on_epoch_begin(epoch)
        assert optimizer.learning_rate.numpy() == pytest.approx(rate, rel=1e-6)
    # Resuming at epoch 75 needs no history: the rate is a function of the epoch.
    assert milestone_learning_rate(2e-4, (60, 90), 75) == pytest.approx(2e-5)


def test_fit_segments_finish_a_half_done_epoch_first():
    from fomm_tf.training.session import _fit_segments

    assert _fit_segments((0, 0), 3, 10) == [(0, 3, 10, 0)]
    assert _fit_segments((1, 4), 3, 10) == [(1, 2, 6, 14), (2, 3, 10, 20)]
    assert _fit_segments((2, 9), 3, 10) == [(2, 3, 1, 29)]
    assert _fit_segments((3, 0), 3, 10) == []


def _random_batches(nan_from_step):
    """Batches of random frames; ``source`` is NaN from ``nan_from_step`` on."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    batches = []
    for step in range(nan_from_step + 1):
        source = rng.random((2, 64, 64, 3), np.float32)
        if step >= nan_from_step:
            source[:] = np.nan
        batches.append(
            {"source": source, "driving": rng.random((2, 64, 64, 3), np.float32)}
        )
    stacked = {
        key: np.stack([b[key] for b in batches]) for key in ("source", "driving")
    }
    return tf.data.Dataset.from_tensor_slices(stacked)


@pytest.mark.slow
def test_frozen_detector_and_nan_stop_keep_last_good_state(tmp_path):
    import tensorflow as tf

    from fomm_tf.training import build_trainer
    from fomm_tf.training.progress_checkpoint import (
        NonFiniteLossError,
        ProgressCheckpoint,
    )
    from fomm_tf.training.training_state import TrainingState

    cfg = tiny_config(train_params__lr_kp_detector=0)
    trainer = build_trainer(cfg, None, synchronized_bn=False)
    assert trainer.trainable_variables and not trainer.kp_detector.trainable_weights
    detector_before = [w.copy() for w in trainer.kp_detector.get_weights()]
    generator_before = [w.copy() for w in trainer.generator.get_weights()]
    state = TrainingState(trainer, tmp_path / "checkpoints")
    callback = ProgressCheckpoint(state, steps_per_epoch=3, save_every_steps=1)
    with pytest.raises(NonFiniteLossError, match="non-finite loss .* epoch 0 step 3"):
        trainer.fit(
            _random_batches(nan_from_step=2),
            epochs=1,
            steps_per_epoch=3,
            callbacks=[callback],
            verbose=0,
        )
    # Weights and batch-norm statistics of the frozen detector never moved.
    detector_after = trainer.kp_detector.get_weights()
    for before, after in zip(detector_before, detector_after, strict=True):
        np.testing.assert_array_equal(before, after)
    latest = tf.train.latest_checkpoint(tmp_path / "checkpoints")
    assert latest.endswith("ckpt-2")
    reader = tf.train.load_checkpoint(latest)
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 2
    saved = [
        reader.get_tensor(name)
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if dtype.is_floating
    ]
    assert len(saved) > 50 and all(np.isfinite(value).all() for value in saved)
    # The saved generator is the good, trained one (not the initial weights).
    trained = TrainingState(build_trainer(cfg, None, False), tmp_path / "checkpoints")
    assert trained.restore() == (0, 2)
    changed = [
        not np.array_equal(before, after)
        for before, after in zip(
            generator_before, trained.trainer.generator.get_weights(), strict=True
        )
    ]
    assert sum(changed) > len(changed) // 2
