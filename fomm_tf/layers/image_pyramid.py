"""Multi-scale image pyramid (official ``modules/model.py``, ``ImagePyramide``).

The one pyramid: training's perceptual and GAN terms and the multi-scale
discriminator (when given a plain image) both build theirs with it.
"""

import keras

from fomm_tf.layers.anti_alias_downsample import AntiAliasDownsample
from fomm_tf.layers.init_config import ConfigFromInit


def scale_key(scale):
    """Official key of a YAML scale, ``str(scale)``: 1 -> '1', 0.5 -> '0.5'."""
    return str(int(scale)) if float(scale).is_integer() else str(float(scale))


def scale_name(scale):
    """A scale as a layer-name suffix: 0.5 -> '0-5'."""
    return scale_key(scale).replace(".", "-")


@keras.saving.register_keras_serializable(package="fomm_tf")
class ImagePyramid(ConfigFromInit, keras.layers.Layer):
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
            AntiAliasDownsample(channels, s, name=f"down_{scale_name(s)}")
            for s in self.scales
        ]

    def build(self, input_shape):
        for down in self.downs:
            down.build(input_shape)
        self.built = True

    def call(self, images):
        pairs = zip(self.keys, self.downs, strict=True)
        return {key: down(images) for key, down in pairs}
