"""Resumable training state: networks, optimizers, running loss means, position.

Written with ``tf.train.CheckpointManager``: the tensors go to new
``ckpt-N.*`` files and only then does the ``checkpoint`` index file move (an
atomic rename) to point at them, so a run killed at any moment leaves the
previous complete checkpoint as the latest.  The two newest are kept.
"""

import os
import shutil

import tensorflow as tf

CHECKPOINTS_KEPT = 2


def _variables_by_path(model):
    """``{path: variable}`` of every weight, trainable or not.

    Keras 3 models are not fully visible to ``tf.train.Checkpoint`` tracking
    (weights held in dicts and the non-trainable batch-norm statistics and
    spectral-norm vectors would be missed), so the variables are listed.
    """
    variables = {variable.path: variable for variable in model.variables}
    if len(variables) != len(model.variables):
        raise ValueError(f"{model.name}: variable paths are not unique")
    return variables


class TrainingState:
    """Saves and restores everything a run needs to continue exactly.

    The position is (epoch, step within the epoch); the data stream and the
    equivariance warps are functions of (seed, position), and the learning rate
    of the epoch, so restoring these variables is enough to replay the rest.

    Args:
      trainer: a compiled ``FommTrainer``.
      directory: where checkpoints live (shared by all workers for reading).
      is_chief: only the chief writes into ``directory``; other workers of a
        multi-worker run write to a scratch folder they delete, as
        ``tf.distribute`` requires every worker to take part in a save.
      worker_id: names that scratch folder.
    """

    def __init__(self, trainer, directory, is_chief=True, worker_id=0):
        self.directory = os.fspath(directory)
        self.is_chief = is_chief
        self.trainer = trainer
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        loss_means = {
            name: list(tracker.variables)
            for name, tracker in trainer.loss_trackers.items()
        }
        self.checkpoint = tf.train.Checkpoint(
            kp_detector=_variables_by_path(trainer.kp_detector),
            generator=_variables_by_path(trainer.generator),
            discriminator=_variables_by_path(trainer.discriminator),
            loss_means=loss_means,
            epoch=self.epoch,
            step=self.step,
            **{
                f"optimizer_{name}": optimizer
                for name, optimizer in trainer.optimizers_by_name().items()
            },
        )
        self.scratch = os.path.join(self.directory, f".scratch-worker-{worker_id}")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=CHECKPOINTS_KEPT
        )
        self.saved_loss_means = None

    @property
    def latest(self):
        """Path prefix of the newest complete checkpoint, or None."""
        return tf.train.latest_checkpoint(self.directory)

    def restore(self):
        """Load the newest checkpoint; returns (epoch, step) or None if none."""
        latest = self.latest
        if latest is None:
            return None
        self.checkpoint.read(latest).assert_existing_objects_matched()
        self.saved_loss_means = {
            name: [variable.numpy() for variable in tracker.variables]
            for name, tracker in self.trainer.loss_trackers.items()
        }
        return int(self.epoch.numpy()), int(self.step.numpy())

    def restore_loss_means(self):
        """Put the restored running means back (after ``fit`` resets them)."""
        for name, values in (self.saved_loss_means or {}).items():
            tracker = self.trainer.loss_trackers[name]
            for variable, value in zip(tracker.variables, values, strict=True):
                variable.assign(value)
        self.saved_loss_means = None

    def save(self, epoch, step, global_step):
        """Write the state at (epoch, step); returns the checkpoint path."""
        self.epoch.assign(epoch)
        self.step.assign(step)
        if self.is_chief:
            return self.manager.save(checkpoint_number=global_step)
        path = self.checkpoint.write(os.path.join(self.scratch, "ckpt"))
        shutil.rmtree(self.scratch, ignore_errors=True)
        return path
