"""The official training visualisation grid, every epoch, as PNG and TensorBoard."""

import dataclasses
import os

import cv2
import keras
import numpy as np
import tensorflow as tf

from fomm_tf.training.loss_log import EPOCH_DIGITS
from fomm_tf.training.tensorboard_log import write_image
from fomm_tf.visualization import visualize


def write_png_atomically(path, image):
    """Write an RGB uint8 image via a temporary file and ``os.replace``."""
    temporary = os.path.join(os.path.dirname(path), f".tmp-{os.path.basename(path)}")
    if not cv2.imwrite(temporary, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write the PNG")
    os.replace(temporary, path)


def _numpy(tensors):
    return {key: np.asarray(value) for key, value in tensors.items()}


class VisualizationCallback(keras.callbacks.Callback):
    """Reconstructs a fixed batch at each epoch end and draws the grid.

    Official ``Logger.visualize_rec``: source, driving with keypoints,
    deformed source, prediction, occlusion and masks.  The models run in
    inference mode on the same frames every epoch, so grids are comparable.
    Written to ``<log_dir>/train-vis/<epoch>-rec.png`` (official name) and as
    the TensorBoard image ``reconstruction``.

    Args:
      batch: ``{'source', 'driving'}`` numpy arrays (B, H, W, 3) in [0, 1].
      image_dir: folder of the PNGs.
      summary_dir: TensorBoard folder of the images.
      visualizer_params: the config's ``VisualizerParams`` (kp size, colormap).
    """

    def __init__(self, batch, image_dir, summary_dir, visualizer_params):
        super().__init__()
        self.batch = {key: np.asarray(batch[key]) for key in ("source", "driving")}
        self.image_dir = os.fspath(image_dir)
        self.summary_dir = os.fspath(summary_dir)
        self.visualizer_kwargs = dataclasses.asdict(visualizer_params)
        self.writer = None

    def grid(self):
        """The uint8 (H', W', 3) visualisation of the fixed batch."""
        source, driving = self.batch["source"], self.batch["driving"]
        kp_detector = self.model.kp_detector
        kp_source = kp_detector(source, training=False)
        kp_driving = kp_detector(driving, training=False)
        out = self.model.generator(
            source, kp_source=kp_source, kp_driving=kp_driving, training=False
        )
        return visualize(
            source,
            driving,
            _numpy(out),
            _numpy(kp_source),
            _numpy(kp_driving),
            **self.visualizer_kwargs,
        )

    def on_epoch_end(self, epoch, logs=None):
        image = self.grid()
        os.makedirs(self.image_dir, exist_ok=True)
        name = f"{str(epoch).zfill(EPOCH_DIGITS)}-rec.png"
        write_png_atomically(os.path.join(self.image_dir, name), image)
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.summary_dir)
        with self.writer.as_default():
            write_image("reconstruction", image, epoch)
        self.writer.flush()
