"""Export of fomm-tf models for phones (TFLite / LiteRT) and servers (SavedModel).

Library modules (imported by tests and CLIs):

- ``export.graphs``: the exported computations as tensor functions.
- ``export.tflite``: keypoint detector + generator ``.tflite`` files per mode
  (``python -m export.tflite``).
- ``export.saved_model``: TF Serving SavedModel (``python -m export.saved_model``).
- ``export.builtin_check``: fails on Flex / custom ops
  (``python -m export.builtin_check``).
- ``export.benchmark``: latency, size, GFLOP/s and error table
  (``python -m export.benchmark``).
"""

from fomm_tf.errors import ExportError

__all__ = ["ExportError"]
