"""Typed, validated configuration for fomm-tf.

The YAML format is that of the official First Order Motion Model repository
(AliaksandrSiarohin/first-order-model, folder ``config/``); the published files
live in ``configs/``. :func:`load_config` reads such a file into a tree of frozen
dataclasses rooted at :class:`FommConfig`:

    dataset_params        -> DatasetParams (augmentation_params -> AugmentationParams)
    model_params          -> ModelParams (common / kp_detector / generator /
                             discriminator params)
    train_params          -> TrainParams (transform_params, loss_weights)
    reconstruction_params -> ReconstructionParams
    animate_params        -> AnimateParams (normalization_params)
    visualizer_params     -> VisualizerParams

Defaults. Where the official code gives a keyword a default (the module
constructors, ``FramesDataset``, the augmentation classes, ``normalize_kp``,
``Visualizer``) the same default is used here. Model keywords that the official
constructors require stay required, so ``model_params`` must be given. The
official code reads ``train_params``, ``reconstruction_params`` and
``animate_params`` without defaults; here their defaults are the published
``vox-256.yaml`` values. Lists become tuples; an int is accepted where a float is
expected. Every problem (unknown or misspelt key at any depth, missing required
key, wrong type, unreadable file, invalid YAML, a number out of its range)
raises :class:`ConfigError` with a one-line message naming the file and the
dotted key.

Bounds. A config (a YAML file or the one stored in a ``.keras`` file) cannot ask
for a model or a pipeline that exhausts the machine: floats are finite, lists
hold at most ``MAX_ITEMS`` numbers, and the sizes below have ranges (the
official configs in ``configs/`` use at most the value in brackets):

* widths ``block_expansion`` 1..``MAX_WIDTH`` (64), ``max_features``
  1..``MAX_FEATURES`` (1024); ``num_kp`` 1..``MAX_KEYPOINTS`` (10);
  ``num_channels`` 1..4 (3);
* depths ``num_blocks`` 1..``MAX_BLOCKS`` (5), ``num_down_blocks``
  0..``MAX_BLOCKS`` (2), ``num_bottleneck_blocks`` 0..``MAX_BOTTLENECK`` (6);
* ``frame_shape`` sides 1..``MAX_SIDE`` (256); scale factors and pyramid /
  discriminator scales ``MIN_SCALE``..1 (0.125..1); ``points_tps`` 1..16 (5);
* counts (epochs, repeats, batch size, videos, pairs) 1..``MAX_COUNT``.

``model_params.common_params.align_corners`` is the one option added to the
official format. It selects the pixel-coordinate convention of every bilinear
warp (the ``grid_sample`` calls of the official code; its bilinear
``interpolate`` resizes are half-pixel on every torch version and stay so):

* ``True`` (default): how the released checkpoints were trained. They were made
  with torch 1.0, whose ``grid_sample`` always behaved as ``align_corners=True``.
* ``False``: the official code as it runs on current torch, where
  ``grid_sample`` defaults to ``align_corners=False``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fomm_tf.errors import ConfigError, brief, one_line

MAX_WIDTH = 256
MAX_FEATURES = 1024
MAX_KEYPOINTS = 64
MAX_BLOCKS = 6
MAX_BOTTLENECK = 12
MAX_SIDE = 1024
MIN_SCALE = 1 / 64
MAX_COUNT = 1_000_000
MAX_ITEMS = 8


def _ranged(low, high, **default):
    """A field whose number, or each number of its list, lies in [low, high]."""
    return field(metadata={"range": (low, high)}, **default)


_WIDTH = (1, MAX_WIDTH)
_FEATURES = (1, MAX_FEATURES)
_BLOCKS = (1, MAX_BLOCKS)
_SCALE = (MIN_SCALE, 1.0)
_COUNT = (1, MAX_COUNT)

__all__ = [
    "AnimateParams",
    "AugmentationParams",
    "CommonParams",
    "ConfigError",
    "CropParams",
    "DatasetParams",
    "DenseMotionParams",
    "DiscriminatorParams",
    "FlipParams",
    "FommConfig",
    "GeneratorParams",
    "JitterParams",
    "KPDetectorParams",
    "LossWeights",
    "ModelParams",
    "NormalizationParams",
    "ReconstructionParams",
    "ResizeParams",
    "RotationParams",
    "TrainParams",
    "TransformParams",
    "VisualizerParams",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "with_align_corners",
]


# --------------------------------------------------------------------------
# dataset_params (official frames_dataset.py and augmentation.py)
# --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FlipParams:
    """``flip_param``: keywords of ``augmentation.RandomFlip``."""

    horizontal_flip: bool = False  # RandomFlip(horizontal_flip=False)
    time_flip: bool = False  # RandomFlip(time_flip=False)


@dataclass(frozen=True, kw_only=True)
class JitterParams:
    """``jitter_param``: keywords of ``augmentation.ColorJitter``."""

    brightness: float = 0.0  # ColorJitter(brightness=0)
    contrast: float = 0.0  # ColorJitter(contrast=0)
    saturation: float = 0.0  # ColorJitter(saturation=0)
    hue: float = 0.0  # ColorJitter(hue=0)


@dataclass(frozen=True, kw_only=True)
class ResizeParams:
    """``resize_param``: keywords of ``augmentation.RandomResize``."""

    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)  # RandomResize default
    interpolation: str = "nearest"  # RandomResize(interpolation='nearest')


@dataclass(frozen=True, kw_only=True)
class RotationParams:
    """``rotation_param``: ``augmentation.RandomRotation``; a number d is (-d, d)."""

    degrees: float | tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class CropParams:
    """``crop_param``: ``augmentation.RandomCrop``; an int s is (s, s) as (h, w)."""

    size: int | tuple[int, int] = _ranged(1, MAX_SIDE)


@dataclass(frozen=True, kw_only=True)
class AugmentationParams:
    """``augmentation_params``: keywords of ``AllAugmentationTransform``.

    ``None`` (absent) leaves that augmentation out, as in the official code.
    """

    resize_param: ResizeParams | None = None
    rotation_param: RotationParams | None = None
    flip_param: FlipParams | None = None
    crop_param: CropParams | None = None
    jitter_param: JitterParams | None = None


@dataclass(frozen=True, kw_only=True)
class DatasetParams:
    """``dataset_params``: keywords of ``frames_dataset.FramesDataset``.

    ``root_dir`` is required by FramesDataset; here ``None`` means "not given",
    which is fine for inference-only use.
    """

    root_dir: str | None = None
    frame_shape: tuple[int, int, int] = _ranged(1, MAX_SIDE, default=(256, 256, 3))
    id_sampling: bool = False  # FramesDataset default
    pairs_list: str | None = None  # FramesDataset default
    augmentation_params: AugmentationParams = field(default_factory=AugmentationParams)


# --------------------------------------------------------------------------
# model_params (official modules/*.py)
# --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CommonParams:
    """``common_params``: keywords passed to every network, plus align_corners."""

    num_kp: int = _ranged(1, MAX_KEYPOINTS)
    num_channels: int = _ranged(1, 4)
    estimate_jacobian: bool = False  # KPDetector / OcclusionAwareGenerator default
    align_corners: bool = True  # fomm-tf option; see the module docstring


@dataclass(frozen=True, kw_only=True)
class KPDetectorParams:
    """``kp_detector_params``: keywords of ``KPDetector``."""

    temperature: float
    block_expansion: int = _ranged(*_WIDTH)
    max_features: int = _ranged(*_FEATURES)
    scale_factor: float = _ranged(*_SCALE, default=1.0)  # KPDetector(scale_factor=1)
    num_blocks: int = _ranged(*_BLOCKS)
    single_jacobian_map: bool = False  # KPDetector default
    pad: int = _ranged(0, 8, default=0)  # KPDetector(pad=0)


@dataclass(frozen=True, kw_only=True)
class DenseMotionParams:
    """``dense_motion_params``: keywords of ``DenseMotionNetwork``."""

    block_expansion: int = _ranged(*_WIDTH)
    max_features: int = _ranged(*_FEATURES)
    num_blocks: int = _ranged(*_BLOCKS)
    scale_factor: float = _ranged(*_SCALE, default=1.0)  # DenseMotionNetwork default
    kp_variance: float = 0.01  # DenseMotionNetwork(kp_variance=0.01)


@dataclass(frozen=True, kw_only=True)
class GeneratorParams:
    """``generator_params``: keywords of ``OcclusionAwareGenerator``."""

    block_expansion: int = _ranged(*_WIDTH)
    max_features: int = _ranged(*_FEATURES)
    num_down_blocks: int = _ranged(0, MAX_BLOCKS)
    num_bottleneck_blocks: int = _ranged(0, MAX_BOTTLENECK)
    estimate_occlusion_map: bool = False  # OcclusionAwareGenerator default
    dense_motion_params: DenseMotionParams | None = None  # generator default


@dataclass(frozen=True, kw_only=True)
class DiscriminatorParams:
    """``discriminator_params``: ``MultiScaleDiscriminator`` / ``Discriminator``."""

    scales: tuple[float, ...] = _ranged(*_SCALE, default=())  # default ()
    block_expansion: int = _ranged(*_WIDTH, default=64)  # Discriminator default
    max_features: int = _ranged(*_FEATURES, default=512)  # Discriminator default
    num_blocks: int = _ranged(*_BLOCKS, default=4)  # Discriminator(num_blocks=4)
    sn: bool = False  # Discriminator(sn=False)
    use_kp: bool = False  # Discriminator(use_kp=False)
    kp_variance: float = 0.01  # Discriminator(kp_variance=0.01)


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    """``model_params``: the architecture; all but the discriminator required."""

    common_params: CommonParams
    kp_detector_params: KPDetectorParams
    generator_params: GeneratorParams
    discriminator_params: DiscriminatorParams = field(
        default_factory=DiscriminatorParams
    )


# --------------------------------------------------------------------------
# train_params (official train.py / modules/model.py; defaults: vox-256.yaml)
# --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransformParams:
    """``transform_params``: the random TPS of the equivariance losses.

    ``sigma_tps`` or ``points_tps`` null: affine only, as the official
    ``Transform`` does when either key is absent.
    """

    sigma_affine: float = 0.05  # vox-256.yaml
    sigma_tps: float | None = 0.005  # vox-256.yaml
    points_tps: int | None = _ranged(1, 16, default=5)  # vox-256.yaml


@dataclass(frozen=True, kw_only=True)
class LossWeights:
    """``loss_weights`` of the generator and discriminator losses."""

    generator_gan: float = 0.0  # vox-256.yaml
    discriminator_gan: float = 1.0  # vox-256.yaml
    feature_matching: tuple[float, ...] = (10.0,) * 4  # vox-256.yaml
    perceptual: tuple[float, ...] = (10.0,) * 5  # vox-256.yaml
    equivariance_value: float = 10.0  # vox-256.yaml
    equivariance_jacobian: float = 10.0  # vox-256.yaml
    # fomm-tf extension, not in the official code: L1 between the prediction and
    # the driving frame, summed over the ``train_params.scales`` pyramid. 0 (the
    # default) is the official objective; the bundled synthetic model uses it
    # because no ImageNet VGG19 weights could be downloaded where it was trained.
    reconstruction: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TrainParams:
    """``train_params``: the schedule and losses of official train.py."""

    num_epochs: int = _ranged(*_COUNT, default=100)  # vox-256.yaml
    num_repeats: int = _ranged(*_COUNT, default=75)  # vox-256.yaml
    epoch_milestones: tuple[int, ...] = _ranged(0, MAX_COUNT, default=(60, 90))
    lr_generator: float = 2.0e-4  # vox-256.yaml
    lr_discriminator: float = 2.0e-4  # vox-256.yaml
    lr_kp_detector: float = 2.0e-4  # vox-256.yaml
    batch_size: int = _ranged(*_COUNT, default=40)  # vox-256.yaml
    scales: tuple[float, ...] = _ranged(*_SCALE, default=(1.0, 0.5, 0.25, 0.125))
    checkpoint_freq: int = _ranged(*_COUNT, default=50)  # vox-256.yaml
    transform_params: TransformParams = field(default_factory=TransformParams)
    loss_weights: LossWeights = field(default_factory=LossWeights)


# --------------------------------------------------------------------------
# reconstruction / animation / visualisation
# --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReconstructionParams:
    """``reconstruction_params`` of official reconstruction.py."""

    num_videos: int = _ranged(*_COUNT, default=1000)  # vox-256.yaml
    format: str = ".mp4"  # vox-256.yaml


@dataclass(frozen=True, kw_only=True)
class NormalizationParams:
    """``normalization_params``: keywords of official ``animate.normalize_kp``."""

    adapt_movement_scale: bool = False  # normalize_kp default
    use_relative_movement: bool = False  # normalize_kp default
    use_relative_jacobian: bool = False  # normalize_kp default


@dataclass(frozen=True, kw_only=True)
class AnimateParams:
    """``animate_params`` of official animate.py."""

    num_pairs: int = _ranged(*_COUNT, default=50)  # vox-256.yaml
    format: str = ".mp4"  # vox-256.yaml
    normalization_params: NormalizationParams = field(
        default_factory=NormalizationParams
    )


@dataclass(frozen=True, kw_only=True)
class VisualizerParams:
    """``visualizer_params``: keywords of official ``logger.Visualizer``."""

    kp_size: int = _ranged(1, 64, default=5)  # Visualizer(kp_size=5)
    draw_border: bool = False  # Visualizer(draw_border=False)
    colormap: str = "gist_rainbow"  # Visualizer(colormap='gist_rainbow')


@dataclass(frozen=True, kw_only=True)
class FommConfig:
    """A whole configuration file. ``source_path`` is not a YAML key."""

    dataset_params: DatasetParams = field(default_factory=DatasetParams)
    model_params: ModelParams
    train_params: TrainParams = field(default_factory=TrainParams)
    reconstruction_params: ReconstructionParams = field(
        default_factory=ReconstructionParams
    )
    animate_params: AnimateParams = field(default_factory=AnimateParams)
    visualizer_params: VisualizerParams = field(default_factory=VisualizerParams)
    source_path: str = field(default="<dict>", compare=False, metadata={"yaml": False})


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> FommConfig:
    """Read and validate the YAML configuration file at ``path``."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"{source}: cannot read config file: {reason}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {one_line(exc)}") from exc
    return config_from_dict(data, source=source)


def config_from_dict(data: dict, source: str = "<dict>") -> FommConfig:
    """Validate a mapping in the YAML layout; ``source`` names it in errors."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{source}: top level must be a mapping, got {kind}")
    config = _build(FommConfig, data, "", source)
    _check_discriminator_fits(config, source)
    return dataclasses.replace(config, source_path=source)


def _discriminator_side(side: int, scale: float, num_blocks: int) -> int:
    """Side of the last feature map of ``Discriminator`` on a ``side``-pixel
    frame at pyramid ``scale`` (anti-aliased stride ``1/scale``, rounded up;
    each block a 4x4 valid conv, then a 2x2 average pool but the last); < 1
    when the frame is too small."""
    side = math.ceil(side / int(1 / scale))
    for block in range(num_blocks):
        side -= 3
        if side < 1:
            return side
        if block != num_blocks - 1:
            side //= 2
    return side


def _check_discriminator_fits(config: FommConfig, source: str) -> None:
    """ConfigError unless every discriminator scale keeps at least one pixel."""
    params = config.model_params.discriminator_params
    smallest = min(config.dataset_params.frame_shape[:2])
    for scale in params.scales:
        if _discriminator_side(smallest, scale, params.num_blocks) < 1:
            fitting = max(
                n for n in range(params.num_blocks)
                if _discriminator_side(smallest, scale, n) >= 1
            )  # fmt: skip
            raise ConfigError(
                f"{source}: model_params.discriminator_params.num_blocks "
                f"{params.num_blocks} leaves no pixel of a {smallest}-pixel frame "
                f"side at scale {scale:g} (at most {fitting} blocks fit)"
            )


def config_to_dict(cfg: FommConfig) -> dict:
    """Plain dict/list form of ``cfg`` (YAML-safe); inverse of config_from_dict."""
    return _to_plain(cfg)


def with_align_corners(cfg: FommConfig, value: bool) -> FommConfig:
    """Copy of ``cfg`` with ``model_params.common_params.align_corners = value``."""
    path = "model_params.common_params.align_corners"
    value = _convert_scalar(value, bool, path, cfg.source_path)
    common = dataclasses.replace(cfg.model_params.common_params, align_corners=value)
    model = dataclasses.replace(cfg.model_params, common_params=common)
    return dataclasses.replace(cfg, model_params=model)


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _yaml_fields(cls: type) -> dict[str, dataclasses.Field]:
    """Return the fields of a config dataclass that are YAML keys, by name."""
    fields = dataclasses.fields(cls)
    return {f.name: f for f in fields if f.metadata.get("yaml", True)}


def _is_required(f: dataclasses.Field) -> bool:
    """Whether a field has neither a default nor a default factory."""
    missing = dataclasses.MISSING
    return f.default is missing and f.default_factory is missing


def _join(path: str, key: object) -> str:
    """Dotted key path of ``key`` inside the section at ``path``."""
    return f"{path}.{key}" if path else str(key)


def _build(cls: type, data: Any, path: str, source: str) -> Any:
    """Build dataclass ``cls`` from the mapping ``data`` found at ``path``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{source}: key '{path}' must be a mapping, got {kind}")
    fields = _yaml_fields(cls)
    for key in data:
        if key not in fields:
            raise _unknown_key(key, fields, path, source)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            key = _join(path, name)
            kwargs[name] = _convert(data[name], hints[name], key, source)
            _check_range(kwargs[name], f.metadata.get("range"), key, source)
        elif _is_required(f):
            raise ConfigError(f"{source}: missing key '{_join(path, name)}'")
    return cls(**kwargs)


def _check_range(value: Any, bounds: tuple | None, path: str, source: str) -> None:
    """Check a converted number (or each number of a list) against ``bounds``."""
    if bounds is None or value is None:
        return
    low, high = bounds
    for number in value if isinstance(value, tuple) else (value,):
        if not low <= number <= high:
            raise ConfigError(
                f"{source}: key '{path}' must be in [{low:g}, {high:g}], got {number!r}"
            )


def _unknown_key(key: object, valid: dict, path: str, source: str) -> ConfigError:
    """Return the error for ``key`` at ``path``, with the closest valid key."""
    message = f"{source}: unknown key '{_join(path, key)}'"
    close = difflib.get_close_matches(str(key), list(valid), n=1)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    return ConfigError(message)


def _convert(value: Any, tp: Any, path: str, source: str) -> Any:
    """Check ``value`` against the type hint ``tp`` and convert it."""
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, source)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(value, tp, path, source)
    if origin is tuple:
        return _convert_tuple(value, tp, path, source)
    return _convert_scalar(value, tp, path, source)


def _convert_union(value: Any, tp: Any, path: str, source: str) -> Any:
    """Convert to the first alternative of the union ``tp`` that fits."""
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    options = [arg for arg in args if arg is not type(None)]
    if len(options) == 1:
        return _convert(value, options[0], path, source)
    for option in options:
        try:
            return _convert(value, option, path, source)
        except ConfigError:
            continue
    raise _type_error(value, tp, path, source)


def _convert_tuple(value: Any, tp: Any, path: str, source: str) -> tuple:
    """Convert a YAML list to a tuple, checking its length and items."""
    args = typing.get_args(tp)
    if not isinstance(value, (list, tuple)):
        raise _type_error(value, tp, path, source)
    if len(value) > MAX_ITEMS:
        raise ConfigError(f"{source}: key '{path}' has more than {MAX_ITEMS} items")
    item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
    if len(item_types) != len(value):
        raise _type_error(value, tp, path, source)
    return tuple(
        _convert(item, item_tp, f"{path}[{i}]", source)
        for i, (item, item_tp) in enumerate(zip(value, item_types, strict=True))
    )


def _convert_scalar(value: Any, tp: type, path: str, source: str) -> Any:
    """Check a bool, int, float or str; ints are accepted (converted) as floats,
    which must be finite."""
    accepted = (int, float) if tp is float else tp
    if isinstance(value, accepted) and (tp is bool or not isinstance(value, bool)):
        if tp is float and not _finite(value):
            raise ConfigError(
                f"{source}: key '{path}' must be finite, got {brief(value)}"
            )
        return tp(value)
    raise _type_error(value, tp, path, source)


def _finite(number: int | float) -> bool:
    """Whether a number is a finite float (an int too large for one is not)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _type_error(value: Any, tp: Any, path: str, source: str) -> ConfigError:
    """Return the error for a value at ``path`` that does not match ``tp``."""
    got = f"{type(value).__name__} {brief(value)}"
    return ConfigError(f"{source}: key '{path}' must be {_type_name(tp)}, got {got}")


def _type_name(tp: Any) -> str:
    """Human-readable name of a config type hint, e.g. 'list of 2 float'."""
    args = typing.get_args(tp)
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if typing.get_origin(tp) is tuple:
        if args[-1] is Ellipsis:
            return f"list of {_type_name(args[0])}"
        return f"list of {len(args)} {_type_name(args[0])}"
    return tp.__name__


def _to_plain(value: Any) -> Any:
    """Dataclasses to dicts and tuples to lists, recursively."""
    if dataclasses.is_dataclass(value):
        fields = _yaml_fields(type(value))
        return {name: _to_plain(getattr(value, name)) for name in fields}
    if isinstance(value, tuple):
        return [_to_plain(item) for item in value]
    return value
