"""The three FOMM networks built from one config, saved together as one file."""

import json
import zipfile

import keras

from fomm_tf import config as config_lib
from fomm_tf.models import (
    KeypointDetector,
    MultiScaleDiscriminator,
    OcclusionAwareGenerator,
)


def build_kp_detector(cfg, synchronized_bn=False):
    """``KPDetector(**kp_detector_params, **common_params)`` of the official code."""
    common = cfg.model_params.common_params
    params = cfg.model_params.kp_detector_params
    return KeypointDetector(
        num_kp=common.num_kp,
        num_channels=common.num_channels,
        estimate_jacobian=common.estimate_jacobian,
        block_expansion=params.block_expansion,
        max_features=params.max_features,
        num_blocks=params.num_blocks,
        temperature=params.temperature,
        scale_factor=params.scale_factor,
        single_jacobian_map=params.single_jacobian_map,
        pad=params.pad,
        synchronized_bn=synchronized_bn,
        name="kp_detector",
    )


def build_generator(cfg, synchronized_bn=False):
    """``OcclusionAwareGenerator(**generator_params, **common_params)``."""
    common = cfg.model_params.common_params
    params = cfg.model_params.generator_params
    dense = params.dense_motion_params
    dense_kwargs = None
    if dense is not None:
        dense_kwargs = dict(
            block_expansion=dense.block_expansion,
            max_features=dense.max_features,
            num_blocks=dense.num_blocks,
            scale_factor=dense.scale_factor,
            kp_variance=dense.kp_variance,
        )
    return OcclusionAwareGenerator(
        num_kp=common.num_kp,
        num_channels=common.num_channels,
        estimate_jacobian=common.estimate_jacobian,
        block_expansion=params.block_expansion,
        max_features=params.max_features,
        num_down_blocks=params.num_down_blocks,
        num_bottleneck_blocks=params.num_bottleneck_blocks,
        estimate_occlusion_map=params.estimate_occlusion_map,
        dense_motion_params=dense_kwargs,
        align_corners=common.align_corners,
        synchronized_bn=synchronized_bn,
        name="generator",
    )


def build_discriminator(cfg):
    """``MultiScaleDiscriminator(**discriminator_params, **common_params)``."""
    common = cfg.model_params.common_params
    params = cfg.model_params.discriminator_params
    return MultiScaleDiscriminator(
        scales=params.scales,
        num_channels=common.num_channels,
        num_kp=common.num_kp,
        block_expansion=params.block_expansion,
        num_blocks=params.num_blocks,
        max_features=params.max_features,
        sn=params.sn,
        use_kp=params.use_kp,
        kp_variance=params.kp_variance,
        name="discriminator",
    )


@keras.saving.register_keras_serializable(package="fomm_tf")
class FommModels(keras.Model):
    """``kp_detector``, ``generator`` and ``discriminator`` plus their ``config``.

    Saved with ``save(path.keras)`` it is one file that loads without torch or
    the original checkpoint (``fomm_tf.load_checkpoint`` reads it back).
    """

    def __init__(self, config, synchronized_bn=False, **kwargs):
        kwargs.setdefault("name", "fomm")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = config_lib.config_from_dict(config, source="<saved model>")
        self.config = config
        self.synchronized_bn = synchronized_bn
        self.kp_detector = build_kp_detector(config, synchronized_bn)
        self.generator = build_generator(config, synchronized_bn)
        self.discriminator = build_discriminator(config)

    def build(self, input_shape=None):
        shape = (None, *self.config.dataset_params.frame_shape)
        for model in (self.kp_detector, self.generator, self.discriminator):
            if not model.built:
                model.build(shape)
        self.built = True

    def get_build_config(self):
        return {"frame_shape": list(self.config.dataset_params.frame_shape)}

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {
            "config": config_lib.config_to_dict(self.config),
            "synchronized_bn": self.synchronized_bn,
            "name": self.name,
        }


def build_models(cfg, synchronized_bn=False):
    """Built (randomly initialised) models for a ``FommConfig``."""
    models = FommModels(cfg, synchronized_bn=synchronized_bn)
    models.build()
    return models


def read_saved_config(path):
    """The ``FommConfig`` stored inside a ``.keras`` file written by ``save``."""
    with zipfile.ZipFile(path) as archive:
        saved = json.loads(archive.read("config.json"))
    return config_lib.config_from_dict(
        saved["config"]["config"], source=f"{path} (stored config)"
    )
