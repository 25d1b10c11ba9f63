"""``log.txt``: per-epoch mean losses in the official ``Logger`` format."""

import os

import keras

# Official ``Logger(zfill_num=8)``: the epoch number is zero-padded to 8 digits.
EPOCH_DIGITS = 8


def format_losses(epoch, losses):
    """``00000003) perceptual - 79.55162; gen_gan - 1.46608`` (official)."""
    terms = "; ".join(f"{name} - {value:.5f}" for name, value in losses.items())
    return f"{str(epoch).zfill(EPOCH_DIGITS)}) {terms}"


class LossLog(keras.callbacks.Callback):
    """Appends one line per epoch to ``path`` (0-based epochs, as official).

    A line already present for the epoch (written just before a crash that lost
    the following checkpoint) is not repeated when the epoch is replayed.
    """

    def __init__(self, path, names):
        super().__init__()
        self.path = os.fspath(path)
        self.names = list(names)

    def _logged_prefixes(self):
        if not os.path.exists(self.path):
            return set()
        with open(self.path) as file:
            return {line.split(")")[0] for line in file if ")" in line}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if str(epoch).zfill(EPOCH_DIGITS) in self._logged_prefixes():
            return
        line = format_losses(epoch, {name: float(logs[name]) for name in self.names})
        with open(self.path, "a") as file:
            file.write(line + "\n")
