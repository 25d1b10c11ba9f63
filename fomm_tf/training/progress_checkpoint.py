"""Periodic resumable checkpoints that refuse to save a non-finite state."""

import math

import keras

from fomm_tf.errors import NonFiniteLossError


class ProgressCheckpoint(keras.callbacks.Callback):
    """Saves the ``TrainingState`` every ``save_every_steps`` and at epoch ends.

    Before every save it checks the step's losses and the trainer's count of
    non-finite steps; on a NaN/inf it raises :class:`NonFiniteLossError`
    (stopping ``fit``) without writing, so the newest checkpoint is the last
    good state.

    Args:
      state: the run's ``TrainingState``.
      steps_per_epoch: steps in a full epoch.
      save_every_steps: mid-epoch save period in steps (0: epoch ends only).
      start: (epoch, step) the run resumes at; the running loss means of that
        epoch are restored when it begins.
    """

    def __init__(self, state, steps_per_epoch, save_every_steps, start=(0, 0)):
        super().__init__()
        self.state = state
        self.steps_per_epoch = steps_per_epoch
        self.save_every_steps = save_every_steps
        self.resume_epoch, self.resume_step = start
        self.epoch = self.resume_epoch
        self.step = self.resume_step

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.step = 0
        if epoch == self.resume_epoch and self.resume_step > 0:
            self.step = self.resume_step
            self.resume_step = 0
            self.state.restore_loss_means()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self._check_finite(logs)
        period = self.save_every_steps
        if period and self.step % period == 0 and self.step < self.steps_per_epoch:
            self._save(self.epoch, self.step)

    def on_epoch_end(self, epoch, logs=None):
        self._check_finite(logs)
        self._save(epoch + 1, 0)

    def _save(self, epoch, step):
        self.state.save(epoch, step, epoch * self.steps_per_epoch + step)

    def _check_finite(self, logs):
        values = {name: float(value) for name, value in (logs or {}).items()}
        bad_steps = float(self.model.nonfinite_steps.numpy())
        if bad_steps == 0 and all(math.isfinite(v) for v in values.values()):
            return
        losses = ", ".join(f"{name}={value:.5g}" for name, value in values.items())
        latest = self.state.latest or "none yet"
        raise NonFiniteLossError(
            f"non-finite loss or gradient at epoch {self.epoch} step {self.step} "
            f"({losses}); training stopped, last good checkpoint: {latest}"
        )
