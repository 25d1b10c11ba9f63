"""The exported computations as tensor functions of the Keras models.

Both exporters (TFLite and SavedModel) build their signatures from these, so the
phone and the server run the same graph as ``fomm_tf``'s Keras models.

Keypoint normalisation flags are a float tensor ``(3,)`` of 0/1 values, ordered
as ``FLAG_NAMES`` (the official ``normalize_kp`` arguments). They are graph
inputs, not constants, so one exported file serves every ``animate_params``
setting; ``tf.where`` selects between the variants, so a flag that is off never
lets a NaN of the other branch (for example a degenerate hull) through.

Ops on the warping path run under the name scope ``FLOAT_SCOPE``; the full-int8
exporter keeps every op of that scope in float.
"""

import tensorflow as tf

import fomm_tf

FLAG_NAMES = ("use_relative_movement", "use_relative_jacobian", "adapt_movement_scale")
FLOAT_SCOPE = "float_path"


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


def normalize_with_flags(kp_source, kp_driving, kp_driving_initial, flags):
    """``fomm_tf.normalize_kp`` with its three switches taken from ``flags`` (3,)."""
    use_relative, use_jacobian, adapt_scale = tf.unstack(flags > 0.5)
    plain = fomm_tf.normalize_kp(
        kp_source, kp_driving, kp_driving_initial, True, True, False
    )
    adapted = fomm_tf.normalize_kp(
        kp_source, kp_driving, kp_driving_initial, True, True, True
    )
    value = tf.where(adapt_scale, adapted["value"], plain["value"])
    out = {"value": tf.where(use_relative, value, kp_driving["value"])}
    if "jacobian" in kp_driving:
        out["jacobian"] = tf.where(
            use_relative & use_jacobian, plain["jacobian"], kp_driving["jacobian"]
        )
    return out


def animate_frame(generator, source, kp_source, kp_driving, kp_driving_initial, flags):
    """One animated frame (B, H, W, 3): normalise the keypoints, run the generator."""
    features = generator.encode(source, training=False)
    return frame_from_features(
        generator, source, features, kp_source, kp_driving, kp_driving_initial, flags
    )


def frame_from_features(
    generator, source, features, kp_source, kp_driving, kp_driving_initial, flags
):
    """The per-frame part of the generator given the cached ``encode(source)``.

    Same composition as ``OcclusionAwareGenerator.call``: dense motion, warp the
    features, multiply by the occlusion map (paper eq. 8), decode.
    """
    with tf.name_scope(FLOAT_SCOPE):
        kp_norm = normalize_with_flags(kp_source, kp_driving, kp_driving_initial, flags)
        if generator.dense_motion_network is not None:
            _, features = generator.moved_features(
                source, features, kp_source, kp_norm, training=False
            )
    return generator.decode(features, training=False)
