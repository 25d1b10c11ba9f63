"""Building a subclassed model by tracing one dummy call, for ``.keras`` reloads."""

import keras


class TracedBuildMixin:
    """Creates every variable by calling the model on dummy inputs.

    The build config stores only the frame shape (H, W, C), so a reloaded model
    builds the same variables before its weights are restored.
    """

    def dummy_inputs(self, frame_shape):
        """Positional and keyword arguments for one call at ``frame_shape``."""
        raise NotImplementedError

    def build(self, input_shape):
        self.frame_shape = tuple(int(d) for d in input_shape[1:])
        args, kwargs = keras.tree.map_structure(
            lambda x: keras.KerasTensor(x.shape, x.dtype),
            self.dummy_inputs(self.frame_shape),
        )
        self.compute_output_spec(*args, training=False, **kwargs)
        self.built = True

    def get_build_config(self):
        return {"frame_shape": list(getattr(self, "frame_shape", ()))}

    def build_from_config(self, config):
        if config.get("frame_shape"):
            self.build((None, *config["frame_shape"]))


def dummy_keypoints(num_kp, with_jacobian):
    """Keypoints on the diagonal with identity jacobians, batch 1."""
    value = keras.ops.stack(
        [keras.ops.linspace(-0.5, 0.5, num_kp, dtype=keras.config.floatx())] * 2,
        axis=-1,
    )[None]  # (1, K, 2)
    kp = {"value": value}
    if with_jacobian:
        kp["jacobian"] = keras.ops.tile(keras.ops.eye(2)[None, None], (1, num_kp, 1, 1))
    return kp
