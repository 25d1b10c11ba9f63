"""Patch discriminator (official ``modules/discriminator.py``, ``Discriminator``)."""

import keras
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.layers import DiscriminatorBlock, SpectralNormConv2D
from fomm_tf.layers.built_by_call import BuiltByCall
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class Discriminator(ConfigFromInit, BuiltByCall, keras.layers.Layer):
    """Pix2pix-style patch discriminator at one scale.

    Returns the down-block feature maps (used by the feature-matching loss) and
    the 1x1-conv prediction map.  With ``use_kp`` the keypoint heatmaps are
    concatenated to the image channels.
    """

    def __init__(
        self,
        *,
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
        self.sn = sn
        self.use_kp = use_kp
        self.kp_variance = kp_variance
        self.down_blocks = [
            DiscriminatorBlock(
                min(max_features, block_expansion * 2 ** (i + 1)),
                kernel_size=4,
                norm=i != 0,
                pool=i != num_blocks - 1,
                sn=sn,
                name=f"down_{i}",
            )
            for i in range(num_blocks)
        ]
        if sn:
            self.conv = SpectralNormConv2D(1, 1, name="conv")
        else:
            self.conv = conv(1, 1, padding="valid", name="conv")

    def call(self, images, kp=None, training=None):
        out = images
        if self.use_kp:
            size = (images.shape[1], images.shape[2])
            heatmap = geometry.kp2gaussian(kp["value"], size, self.kp_variance)
            out = tf.concat([out, heatmap], axis=-1)
        feature_maps = []
        for block in self.down_blocks:
            out = block(out, training=training)
            feature_maps.append(out)
        prediction = self.conv(out, training=training) if self.sn else self.conv(out)
        return feature_maps, prediction
