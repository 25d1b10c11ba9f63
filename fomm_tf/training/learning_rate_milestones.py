"""Epoch-indexed step decay of the learning rates (official ``MultiStepLR``)."""

import keras

# Official ``MultiStepLR(optimizer, epoch_milestones, gamma=0.1)``.
DECAY_FACTOR = 0.1


def milestone_learning_rate(base_rate, milestones, epoch):
    """``base * 0.1 ** (number of milestones <= epoch)`` (0-based epochs)."""
    passed = sum(1 for milestone in milestones if milestone <= epoch)
    return base_rate * DECAY_FACTOR**passed


class MilestoneLearningRate(keras.callbacks.Callback):
    """Sets each optimizer's rate from the epoch number at every epoch start.

    The rate is a function of the epoch alone, so a resumed run gets the same
    schedule as an uninterrupted one.

    Args:
      rates: ``[(optimizer, base learning rate)]``.
      milestones: epochs at which every rate is multiplied by 0.1.
    """

    def __init__(self, rates, milestones):
        super().__init__()
        self.rates = list(rates)
        self.milestones = tuple(milestones)

    def on_epoch_begin(self, epoch, logs=None):
        for optimizer, base_rate in self.rates:
            rate = milestone_learning_rate(base_rate, self.milestones, epoch)
            optimizer.learning_rate.assign(rate)
