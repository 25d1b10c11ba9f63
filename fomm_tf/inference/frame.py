"""One animated frame: the per-frame composition every inference path runs.

The Keras animator, the exported TFLite / SavedModel graphs and the dataset
evaluation all call :func:`animate_frame`: normalise the driving keypoints
(switches as a flags vector, see ``keypoint_normalization``), move the cached
source features by the dense motion and mask them by the occlusion map (paper
eq. 8, ``OcclusionAwareGenerator.moved_features``), decode. The source is
encoded once per source image (``generator.encode``), not per frame.

Ops on the warping path run under the name scope ``FLOAT_SCOPE``; the static-int8
exporter keeps every op of that scope in float.
"""

import tensorflow as tf

from fomm_tf.inference.keypoint_normalization import normalize_with_flags

FLOAT_SCOPE = "float_path"


def animate_frame(
    generator, source, source_features, kp_source, kp_driving, kp_driving_initial,
    flags,
):  # fmt: skip
    """Frames for B driving keypoints; every input has batch B but
    ``kp_driving_initial`` (batch 1 or B).

    Returns ``prediction`` (B, H, W, C), the normalised keypoints ``kp_norm``
    and, with a dense motion network, its outputs (``mask``, ``deformation``,
    ``sparse_deformed``, ``occlusion_map``).
    """
    out = {}
    features = source_features
    with tf.name_scope(FLOAT_SCOPE):
        kp_norm = normalize_with_flags(kp_source, kp_driving, kp_driving_initial, flags)
        if generator.dense_motion_network is not None:
            motion, features = generator.moved_features(
                source, features, kp_source, kp_norm, training=False
            )
            out.update(motion)
    out["kp_norm"] = kp_norm
    out["prediction"] = generator.decode(features, training=False)
    return out
