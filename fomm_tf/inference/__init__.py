"""Inference: keypoint normalisation, the per-frame composition and the two
backends that run it (Keras graphs, LiteRT over exported ``.tflite`` files).

- :mod:`fomm_tf.inference.keypoint_normalization`: ``normalize_kp``, the keypoint
  hull and the flags <-> keywords mapping of the normalisation switches.
- :mod:`fomm_tf.inference.frame`: one animated frame from the cached source
  features (used by the Keras animator, the export graphs and the evaluation).
- :mod:`fomm_tf.inference.keras_animator`: ``KerasAnimator``.
- :mod:`fomm_tf.inference.litert_runner`: ``LiteRTRunner``.
"""
