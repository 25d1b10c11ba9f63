"""Map official PyTorch state dicts onto the Keras models.

Every state-dict key is either assigned to exactly one Keras variable (with its
layout converted: OIHW conv kernels to HWIO) or is a known bookkeeping buffer
(``num_batches_tracked``).  Missing keys, unexpected keys and shapes that
disagree with the model built from the config are all reported together.
"""

import numpy as np

from fomm_tf.errors import CheckpointMismatchError
from fomm_tf.layers.image_pyramid import scale_name

OPTIONAL_SUFFIXES = ("num_batches_tracked",)


class Transpose:
    """Layout converter torch -> Keras (a transposition), invertible."""

    def __init__(self, axes=None):
        self.axes = axes

    def __call__(self, array):
        return array if self.axes is None else np.transpose(array, self.axes)

    def inverse(self, array):
        """Keras -> torch layout (e.g. to export weights or map gradients back)."""
        return (
            array if self.axes is None else np.transpose(array, np.argsort(self.axes))
        )


_oihw_to_hwio = Transpose((2, 3, 1, 0))  # conv (O, I, kh, kw) -> (kh, kw, I, O)
_depthwise = Transpose((2, 3, 0, 1))  # (C, 1, k, k) -> (k, k, C, 1)
_identity = Transpose()


def _conv(prefix, layer, weight_name="weight"):
    return {
        f"{prefix}.{weight_name}": (layer.kernel, _oihw_to_hwio),
        f"{prefix}.bias": (layer.bias, _identity),
    }


def _batch_norm(prefix, layer):
    return {
        f"{prefix}.weight": (layer.gamma, _identity),
        f"{prefix}.bias": (layer.beta, _identity),
        f"{prefix}.running_mean": (layer.moving_mean, _identity),
        f"{prefix}.running_var": (layer.moving_variance, _identity),
    }


def _conv_bn(prefix, block, conv=("conv", "conv"), norm=("norm", "norm")):
    """A conv and a BN; names are (torch attribute, Keras attribute) pairs."""
    entries = _conv(f"{prefix}.{conv[0]}", getattr(block, conv[1]))
    entries.update(_batch_norm(f"{prefix}.{norm[0]}", getattr(block, norm[1])))
    return entries


def _down(prefix, layer):
    """Anti-alias kernel: torch (C, 1, k, k) -> depthwise (k, k, C, 1)."""
    if layer is None:
        return {}
    return {f"{prefix}.weight": (layer.kernel, _depthwise)}


def _hourglass(prefix, hourglass):
    entries = {}
    for i, block in enumerate(hourglass.down_blocks):
        entries.update(_conv_bn(f"{prefix}.encoder.down_blocks.{i}", block))
    for i, block in enumerate(hourglass.up_blocks):
        entries.update(_conv_bn(f"{prefix}.decoder.up_blocks.{i}", block))
    return entries


def kp_detector_entries(kp_detector):
    """torch key -> (Keras variable, converter) for ``KPDetector``."""
    entries = _hourglass("predictor", kp_detector.predictor)
    entries.update(_conv("kp", kp_detector.kp))
    if kp_detector.jacobian is not None:
        entries.update(_conv("jacobian", kp_detector.jacobian))
    entries.update(_down("down", kp_detector.down))
    return entries


def _dense_motion_entries(prefix, network):
    entries = _hourglass(f"{prefix}.hourglass", network.hourglass)
    entries.update(_conv(f"{prefix}.mask", network.mask))
    if network.occlusion is not None:
        entries.update(_conv(f"{prefix}.occlusion", network.occlusion))
    entries.update(_down(f"{prefix}.down", network.down))
    return entries


def generator_entries(generator):
    """torch key -> (Keras variable, converter) for ``OcclusionAwareGenerator``."""
    entries = {}
    if generator.dense_motion_network is not None:
        entries.update(
            _dense_motion_entries(
                "dense_motion_network", generator.dense_motion_network
            )
        )
    entries.update(_conv_bn("first", generator.first))
    for i, block in enumerate(generator.down_blocks):
        entries.update(_conv_bn(f"down_blocks.{i}", block))
    for i, block in enumerate(generator.up_blocks):
        entries.update(_conv_bn(f"up_blocks.{i}", block))
    for i, block in enumerate(generator.bottleneck):
        prefix = f"bottleneck.r{i}"
        entries.update(_conv_bn(prefix, block, ("conv1", "conv"), ("norm1", "norm")))
        entries.update(_conv_bn(prefix, block, ("conv2", "conv2"), ("norm2", "norm2")))
    entries.update(_conv("final", generator.final))
    return entries


def _maybe_spectral_conv(prefix, layer, sn):
    if not sn:
        return _conv(prefix, layer)
    entries = _conv(prefix, layer, weight_name="weight_orig")
    entries[f"{prefix}.weight_u"] = (layer.u, _identity)
    entries[f"{prefix}.weight_v"] = (layer.v, _identity)
    return entries


def discriminator_entries(discriminator):
    """torch key -> (Keras variable, converter) for ``MultiScaleDiscriminator``."""
    entries = {}
    for scale, disc in zip(discriminator.scales, discriminator.discs, strict=True):
        prefix = f"discs.{scale_name(scale)}"
        for i, block in enumerate(disc.down_blocks):
            block_prefix = f"{prefix}.down_blocks.{i}"
            entries.update(
                _maybe_spectral_conv(f"{block_prefix}.conv", block.conv, disc.sn)
            )
            if block.norm is not None:
                entries[f"{block_prefix}.norm.weight"] = (block.norm.gamma, _identity)
                entries[f"{block_prefix}.norm.bias"] = (block.norm.beta, _identity)
        entries.update(_maybe_spectral_conv(f"{prefix}.conv", disc.conv, disc.sn))
    return entries


def _summarise(keys, limit=6):
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return f"{shown}{more}"


def mismatches(section, state_dict, entries):
    """Problems of one section as short strings (empty when it fits)."""
    problems = []
    missing = set(entries) - set(state_dict)
    unexpected = {
        key
        for key in set(state_dict) - set(entries)
        if not key.endswith(OPTIONAL_SUFFIXES)
    }
    if missing:
        problems.append(f"{section}: missing keys {_summarise(missing)}")
    if unexpected:
        problems.append(f"{section}: unexpected keys {_summarise(unexpected)}")
    wrong = []
    for key in sorted(set(entries) & set(state_dict)):
        variable, convert = entries[key]
        shape = tuple(convert(np.asarray(state_dict[key])).shape)
        if shape != tuple(variable.shape):
            torch_shape = tuple(np.asarray(state_dict[key]).shape)
            wrong.append(f"{key} {torch_shape} vs config {tuple(variable.shape)}")
    if wrong:
        problems.append(f"{section}: shape mismatch {_summarise(wrong, 4)}")
    return problems


def section_entries(models):
    """{section: {torch key: (variable, Transpose)}} for ``FommModels``."""
    return {
        "kp_detector": kp_detector_entries(models.kp_detector),
        "generator": generator_entries(models.generator),
        "discriminator": discriminator_entries(models.discriminator),
    }


def export_state_dicts(models):
    """The models' weights as official state dicts (torch layouts, numpy)."""
    return {
        section: {
            key: convert.inverse(var.numpy()) for key, (var, convert) in entries.items()
        }
        for section, entries in section_entries(models).items()
    }


def assign_state_dicts(models, state_dicts):
    """Check every section first, then assign; raises ``CheckpointMismatchError``."""
    sections = section_entries(models)
    problems = []
    for section, entries in sections.items():
        if section in state_dicts:
            problems += mismatches(section, state_dicts[section], entries)
    if problems:
        raise CheckpointMismatchError(
            "checkpoint does not match the config: " + "; ".join(problems)
        )
    for section, entries in sections.items():
        for key, (variable, convert) in entries.items():
            if section in state_dicts:
                variable.assign(
                    convert(np.asarray(state_dicts[section][key], np.float32))
                )
