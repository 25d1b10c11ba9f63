"""The exported computations as tensor functions of the Keras models.

Both exporters (TFLite and SavedModel) build their signatures from these, so the
phone and the server run the per-frame composition of ``fomm_tf``
(``fomm_tf.inference.frame.animate_frame``), keypoint normalisation included.

Keypoint normalisation flags are a float tensor ``(3,)`` of 0/1 values, ordered
as ``FLAG_NAMES`` (the official ``normalize_kp`` arguments). They are graph
inputs, not constants, so one exported file serves every ``animate_params``
setting.
"""

from fomm_tf.inference.frame import animate_frame


def keypoint_dict(value, jacobian=None):
    """fomm_tf keypoint dict from a value (B, K, 2) and optional (B, K, 2, 2)."""
    kp = {"value": value}
    if jacobian is not None:
        kp["jacobian"] = jacobian
    return kp


def keypoints(kp_detector, images):
    """Images (B, H, W, 3) in [0, 1] -> ``kp_value`` (B, K, 2), ``kp_jacobian``.

    The detector's own call under the exported names (it stays float32 in every
    mode, see ``export.tflite``).
    """
    kp = kp_detector(images, training=False)
    out = {"kp_value": kp["value"]}
    if "jacobian" in kp:
        out["kp_jacobian"] = kp["jacobian"]
    return out


def prediction(
    generator, source, kp_source, kp_driving, kp_driving_initial, flags,
    source_features=None,
):  # fmt: skip
    """One animated frame (B, H, W, 3); ``source_features``: the cached
    ``generator.encode(source)`` (encoded here when not given)."""
    if source_features is None:
        source_features = generator.encode(source, training=False)
    out = animate_frame(
        generator, source, source_features, kp_source, kp_driving,
        kp_driving_initial, flags,
    )  # fmt: skip
    return out["prediction"]
