"""Representative inputs of every TFLite model, computed with the Keras models."""

import numpy as np

from export import graphs

KP_NAMES = ("kp_source", "kp_driving", "kp_driving_initial")


def representative_inputs(models, spec, frames, model_names, max_samples=8):
    """``{model name: [{input name: array}, ...]}`` from frames (N, H, W, 3).

    Pairs each frame with a source frame of the same sequence, driving initial
    keypoints from the first frame, flags from the config.
    """
    kp = {k: v.numpy() for k, v in graphs.keypoints(models.kp_detector, frames).items()}
    count = min(max_samples, len(frames))
    drivers = np.linspace(0, len(frames) - 1, count).round().astype(int)
    sources = drivers[::-1]
    samples = {}
    for name in model_names:
        samples[name] = [
            _sample(models, spec, frames, kp, name, int(s), int(d))
            for s, d in zip(sources, drivers, strict=True)
        ]
    return samples


def keypoint_inputs(prefix, kp, index):
    """``{<prefix>_value: (1, K, 2), <prefix>_jacobian: ...}`` of frame ``index``."""
    return {f"{prefix}_{key[3:]}": kp[key][index : index + 1] for key in kp}


def _sample(models, spec, frames, kp, name, source, driving):
    if name == "keypoint_detector":
        return {"image": frames[driving : driving + 1]}
    inputs = {
        "source": frames[source : source + 1],
        "normalization_flags": np.asarray(spec.default_flags, np.float32),
    }
    for prefix, index in zip(KP_NAMES, (source, driving, 0), strict=True):
        inputs.update(keypoint_inputs(prefix, kp, index))
    if name == "frame_generator":
        features = models.generator.encode(inputs["source"], training=False)
        inputs["source_features"] = features.numpy()
    if name == "source_encoder":
        inputs = {"source": inputs["source"]}
    return inputs
