"""Multi-scale image pyramid (official ``modules/model.py``, ``ImagePyramide``)."""

import keras

from fomm_tf.layers import AntiAliasDownsample
from fomm_tf.models.multi_scale_discriminator import scale_key


@keras.saving.register_keras_serializable(package="fomm_tf")
class ImagePyramid(keras.layers.Layer):
    """Images (B, H, W, C) -> ``{'prediction_<scale>': (B, H*s, W*s, C)}``.

    Each scale is the official ``AntiAliasInterpolation2d`` (gaussian blur with
    sigma (1/s - 1)/2, zero padding, every 1/s-th pixel); scale 1 is the identity.
    Keys follow the official ``str(scale)``: '1', '0.5', '0.25', '0.125'.
    """

    def __init__(self, scales, channels, **kwargs):
        super().__init__(**kwargs)
        self.scales = tuple(scales)
        self.channels = channels
        self.keys = [f"prediction_{scale_key(s)}" for s in self.scales]
        self.downs = [
            AntiAliasDownsample(
                channels, s, name=f"down_{scale_key(s).replace('.', '-')}"
            )
            for s in self.scales
        ]

    def build(self, input_shape):
        for down in self.downs:
            down.build(input_shape)
        self.built = True

    def call(self, images):
        pairs = zip(self.keys, self.downs, strict=True)
        return {key: down(images) for key, down in pairs}

    def get_config(self):
        config = super().get_config()
        config.update(scales=list(self.scales), channels=self.channels)
        return config
