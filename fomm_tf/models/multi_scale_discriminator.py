"""Discriminators at several image scales (official ``MultiScaleDiscriminator``)."""

import keras

from fomm_tf.layers import ImagePyramid
from fomm_tf.layers.image_pyramid import scale_key, scale_name
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.models.discriminator import Discriminator
from fomm_tf.models.traced_build import TracedBuildMixin, dummy_keypoints


@keras.saving.register_keras_serializable(package="fomm_tf")
class MultiScaleDiscriminator(ConfigFromInit, TracedBuildMixin, keras.Model):
    """One ``Discriminator`` per scale of the image pyramid.

    Call with an image (B, H, W, C) (its ``ImagePyramid`` is built here) or
    with a dict ``{'prediction_<scale>': image}`` as the official code passes
    it.  Returns
    ``{'feature_maps_<scale>': [...], 'prediction_map_<scale>': (B, h, w, 1)}``.
    """

    def __init__(
        self,
        *,
        scales=(1,),
        num_channels,
        block_expansion,
        num_blocks,
        max_features,
        sn,
        use_kp,
        num_kp,
        kp_variance,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.scales = tuple(scales)
        # Every argument but the scales configures each scale's Discriminator.
        self.disc_kwargs = {
            key: value for key, value in self._init_arguments.items() if key != "scales"
        }
        self.discs = [
            Discriminator(name=f"disc_{scale_name(s)}", **self.disc_kwargs)
            for s in self.scales
        ]
        self.pyramid = ImagePyramid(self.scales, num_channels, name="pyramid")

    def dummy_inputs(self, frame_shape):
        kp = dummy_keypoints(self.disc_kwargs["num_kp"], False)
        return (keras.ops.zeros((1, *frame_shape)),), {"kp": kp}

    def call(self, images, kp=None, training=None):
        if not isinstance(images, dict):
            images = self.pyramid(images)
        out = {}
        for s, disc in zip(self.scales, self.discs, strict=True):
            key = scale_key(s)
            feature_maps, prediction = disc(
                images[f"prediction_{key}"], kp=kp, training=training
            )
            out[f"feature_maps_{key}"] = feature_maps
            out[f"prediction_map_{key}"] = prediction
        return out
