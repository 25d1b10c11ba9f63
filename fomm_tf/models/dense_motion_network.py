"""Dense motion network (official ``modules/dense_motion.py``)."""

import keras
import tensorflow as tf

from fomm_tf import geometry
from fomm_tf.layers import AntiAliasDownsample, Hourglass
from fomm_tf.layers.built_by_call import BuiltByCall
from fomm_tf.layers.init_config import ConfigFromInit
from fomm_tf.layers.normalization import conv


@keras.saving.register_keras_serializable(package="fomm_tf")
class DenseMotionNetwork(ConfigFromInit, BuiltByCall, keras.layers.Layer):
    """Sparse first-order motions -> dense backward flow and occlusion map.

    Paper eq. 4: each keypoint k moves z to T_k(z) = kp_s + J_s J_d^-1 (z - kp_d);
    an hourglass predicts soft masks over the K motions plus the background
    (identity) and the flow is their mask-weighted sum.
    """

    def __init__(
        self,
        *,
        num_kp,
        num_channels,
        block_expansion,
        max_features,
        num_blocks,
        estimate_occlusion_map,
        scale_factor,
        kp_variance,
        align_corners,
        synchronized_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_kp = num_kp
        self.num_channels = num_channels
        self.kp_variance = kp_variance
        self.align_corners = align_corners
        self.hourglass = Hourglass(
            block_expansion, max_features, num_blocks, synchronized_bn, name="hourglass"
        )
        self.mask = conv(num_kp + 1, 7, name="mask")
        self.occlusion = (
            conv(1, 7, name="occlusion") if estimate_occlusion_map else None
        )
        self.down = None
        if scale_factor != 1:
            self.down = AntiAliasDownsample(num_channels, scale_factor, name="down")

    def heatmap_representation(self, spatial_size, kp_driving, kp_source):
        """Gaussian(driving) - gaussian(source), zero background: (B, h, w, K+1)."""
        gaussian_driving = geometry.kp2gaussian(
            kp_driving["value"], spatial_size, self.kp_variance
        )
        gaussian_source = geometry.kp2gaussian(
            kp_source["value"], spatial_size, self.kp_variance
        )
        heatmap = gaussian_driving - gaussian_source
        return tf.pad(heatmap, [[0, 0], [0, 0], [0, 0], [1, 0]])

    def sparse_motions(self, spatial_size, kp_driving, kp_source):
        """Per-keypoint backward grids, background first: (B, h, w, K+1, 2)."""
        grid = geometry.make_coordinate_grid(*spatial_size)  # (h, w, 2)
        offset = grid[None, :, :, None, :] - kp_driving["value"][:, None, None]
        if "jacobian" in kp_driving:
            jacobian = geometry.matmul_2x2(
                kp_source["jacobian"], geometry.inverse_2x2(kp_driving["jacobian"])
            )  # (B, K, 2, 2)
            # Entries as (B, 1, 1, K): slicing 4-D tensors keeps TFLite kernels <= 5-D.
            entry = [
                [jacobian[:, None, None, :, i, j] for j in range(2)] for i in range(2)
            ]
            offset = tf.stack(
                [
                    entry[0][0] * offset[..., 0] + entry[0][1] * offset[..., 1],
                    entry[1][0] * offset[..., 0] + entry[1][1] * offset[..., 1],
                ],
                axis=-1,
            )
        driving_to_source = offset + kp_source["value"][:, None, None]
        identity = tf.broadcast_to(
            grid[None, :, :, None, :], tf.shape(driving_to_source[..., :1, :])
        )
        return tf.concat([identity, driving_to_source], axis=3)

    def deform_source(self, source, sparse_motions):
        """Warp the source by every sparse motion: (B, h, w, K+1, C)."""
        shape = tf.shape(sparse_motions)
        grid = tf.reshape(sparse_motions, (shape[0], shape[1], -1, 2))
        warped = geometry.grid_sample(source, grid, self.align_corners)
        return tf.reshape(
            warped, (shape[0], shape[1], shape[2], self.num_kp + 1, self.num_channels)
        )

    def call(self, source, kp_driving, kp_source, training=None):
        source = source if self.down is None else self.down(source)
        spatial_size = (source.shape[1], source.shape[2])
        heatmap = self.heatmap_representation(spatial_size, kp_driving, kp_source)
        motions = self.sparse_motions(spatial_size, kp_driving, kp_source)
        deformed = self.deform_source(source, motions)  # (B, h, w, K+1, C)
        stacked = tf.concat([heatmap[..., None], deformed], axis=-1)
        features = tf.reshape(
            stacked,
            (
                -1,
                spatial_size[0],
                spatial_size[1],
                (self.num_kp + 1) * (1 + self.num_channels),
            ),
        )
        prediction = self.hourglass(features, training=training)
        mask = tf.nn.softmax(self.mask(prediction), axis=-1)  # (B, h, w, K+1)
        out = {
            "sparse_deformed": tf.transpose(deformed, (0, 3, 1, 2, 4)),
            "mask": mask,
            "deformation": tf.reduce_sum(motions * mask[..., None], axis=3),
        }
        if self.occlusion is not None:
            out["occlusion_map"] = tf.sigmoid(self.occlusion(prediction))
        return out
