"""U-Net style encoder/decoder (official ``Hourglass``, ``Encoder``, ``Decoder``)."""

import keras

from fomm_tf.layers.built_by_call import BuiltByCall
from fomm_tf.layers.down_block import DownBlock
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.up_block import UpBlock


def hourglass_widths(block_expansion, max_features, num_blocks):
    """Widths min(max_features, block_expansion * 2^(i+1)) of block i."""
    return [
        min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)
    ]


@keras.saving.register_keras_serializable(package="fomm_tf")
class Hourglass(ConfigFromInit, BuiltByCall, keras.layers.Layer):
    """num_blocks down blocks, num_blocks up blocks with skip concatenation.

    The output concatenates the last up block with the input, so it has
    ``block_expansion + in_channels`` channels (official ``out_filters``).
    """

    def __init__(
        self,
        block_expansion,
        max_features,
        num_blocks=3,
        synchronized_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        widths = hourglass_widths(block_expansion, max_features, num_blocks)
        self.down_blocks = [
            DownBlock(width, synchronized_bn=synchronized_bn, name=f"down_{i}")
            for i, width in enumerate(widths)
        ]
        up_widths = [block_expansion] + widths[:-1]  # out width of up block i
        self.up_blocks = [
            UpBlock(up_widths[i], synchronized_bn=synchronized_bn, name=f"up_{i}")
            for i in reversed(range(num_blocks))
        ]

    def call(self, x, training=None):
        skips = [x]
        for block in self.down_blocks:
            skips.append(block(skips[-1], training=training))
        out = skips.pop()
        for block in self.up_blocks:
            out = block(out, training=training)
            out = keras.ops.concatenate([out, skips.pop()], axis=-1)
        return out
