"""Building blocks of the FOMM networks (official ``modules/util.py``)."""

from fomm_tf.layers.anti_alias_downsample import AntiAliasDownsample
from fomm_tf.layers.discriminator_block import DiscriminatorBlock
from fomm_tf.layers.down_block import DownBlock
from fomm_tf.layers.hourglass import Hourglass
from fomm_tf.layers.image_pyramid import ImagePyramid
from fomm_tf.layers.res_block import ResBlock
from fomm_tf.layers.same_block import SameBlock
from fomm_tf.layers.spectral_norm_conv import SpectralNormConv2D
from fomm_tf.layers.up_block import UpBlock

__all__ = [
    "AntiAliasDownsample",
    "DiscriminatorBlock",
    "DownBlock",
    "Hourglass",
    "ImagePyramid",
    "ResBlock",
    "SameBlock",
    "SpectralNormConv2D",
    "UpBlock",
]
