"""TensorBoard scalars and images, written without the ``tensorboard`` package.

``tf.summary.scalar``/``image`` need TensorBoard installed; the raw
``tf.summary.write`` with the plugins' metadata writes the same event records
(scalars: a float32 scalar for plugin ``scalars``; images: the string tensor
[width, height, png] for plugin ``images``), so TensorBoard reads them.
"""

import os

import cv2
import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2


def _metadata(plugin, data_class):
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    metadata.data_class = data_class
    return metadata


SCALAR_METADATA = _metadata("scalars", summary_pb2.DATA_CLASS_SCALAR)
IMAGE_METADATA = _metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)


def write_scalar(name, value, step):
    """One scalar into the default summary writer."""
    tensor = tf.constant(float(value), tf.float32)
    tf.summary.write(name, tensor, step=step, metadata=SCALAR_METADATA)


def write_image(name, image, step):
    """One RGB uint8 (H, W, 3) image into the default summary writer."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{name}: PNG encoding failed")
    height, width = image.shape[:2]
    tensor = tf.constant([str(width), str(height), encoded.tobytes()])
    tf.summary.write(name, tensor, step=step, metadata=IMAGE_METADATA)


class EpochScalars(keras.callbacks.Callback):
    """Each epoch's mean losses and learning rates as TensorBoard scalars.

    Args:
      directory: the event-file folder.
      optimizers: ``{name: optimizer}``; their rates go under ``learning_rate/``.
    """

    def __init__(self, directory, optimizers):
        super().__init__()
        self.directory = os.fspath(directory)
        self.optimizers = dict(optimizers)
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.directory)
        with self.writer.as_default():
            for name, value in (logs or {}).items():
                write_scalar(f"loss/{name}", value, epoch)
            for name, optimizer in self.optimizers.items():
                rate = optimizer.learning_rate.numpy()
                write_scalar(f"learning_rate/{name}", rate, epoch)
        self.writer.flush()
