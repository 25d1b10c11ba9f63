"""Tests for fomm_tf.config: official configs, validation errors, round trip."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from fomm_tf.config import (
    ConfigError,
    DenseMotionParams,
    FommConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    with_align_corners,
)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
FIXTURES = REPO.parent / "shared" / "fixtures" / "fomm_reference"
OFFICIAL = [
    "vox-256.yaml",
    "vox-adv-256.yaml",
    "taichi-256.yaml",
    "taichi-adv-256.yaml",
    "bair-256.yaml",
    "fashion-256.yaml",
    "mgif-256.yaml",
    "nemo-256.yaml",
]


def _vox_dict() -> dict:
    """Return a fresh copy of the raw vox-256 YAML mapping."""
    return yaml.safe_load((CONFIGS / "vox-256.yaml").read_text())


def _write(tmp_path: Path, data: object, name: str = "cfg.yaml") -> Path:
    """Dump ``data`` as YAML to a file under ``tmp_path``."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


# ---------------------------------------------------------------- files load


def test_configs_folder_holds_the_eight_official_files():
    assert set(OFFICIAL) <= {p.name for p in CONFIGS.glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_config_loads_and_round_trips(name):
    cfg = load_config(CONFIGS / name)
    assert isinstance(cfg, FommConfig)
    assert cfg.source_path == str(CONFIGS / name)
    assert cfg.dataset_params.frame_shape == (256, 256, 3)
    assert cfg.model_params.common_params.num_kp == 10
    assert cfg.model_params.common_params.align_corners is True
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_vox_256_published_values():
    cfg = load_config(CONFIGS / "vox-256.yaml")
    model = cfg.model_params
    assert model.common_params.num_channels == 3
    assert model.common_params.estimate_jacobian is True
    assert model.kp_detector_params.block_expansion == 32
    assert model.kp_detector_params.max_features == 1024
    assert model.kp_detector_params.temperature == 0.1
    assert model.kp_detector_params.scale_factor == 0.25
    assert model.generator_params.block_expansion == 64
    assert model.generator_params.max_features == 512
    assert model.generator_params.estimate_occlusion_map is True
    assert model.generator_params.dense_motion_params == DenseMotionParams(
        block_expansion=64, max_features=1024, num_blocks=5, scale_factor=0.25
    )
    assert model.discriminator_params.sn is True
    assert model.discriminator_params.scales == (1.0,)
    assert cfg.train_params.batch_size == 40
    assert cfg.train_params.num_repeats == 75
    assert cfg.train_params.loss_weights.generator_gan == 0.0
    assert cfg.train_params.loss_weights.perceptual == (10.0,) * 5
    assert cfg.dataset_params.pairs_list == "data/vox256.csv"
    assert cfg.animate_params.normalization_params.use_relative_movement is True
    assert cfg.visualizer_params.draw_border is True


def test_vox_adv_256_published_values():
    cfg = load_config(CONFIGS / "vox-adv-256.yaml")
    disc = cfg.model_params.discriminator_params
    assert disc.use_kp is True
    assert disc.sn is False
    assert cfg.train_params.num_epochs == 150
    assert cfg.train_params.epoch_milestones == ()
    assert cfg.train_params.batch_size == 36
    assert cfg.train_params.loss_weights.generator_gan == 1.0


def test_taichi_256_published_values():
    cfg = load_config(CONFIGS / "taichi-256.yaml")
    assert cfg.dataset_params.root_dir == "data/taichi-png"
    assert cfg.train_params.num_repeats == 150
    assert cfg.train_params.batch_size == 30
    assert cfg.model_params.discriminator_params.sn is False


def test_taichi_adv_256_published_values():
    cfg = load_config(CONFIGS / "taichi-adv-256.yaml")
    assert cfg.train_params.lr_kp_detector == 0.0
    assert isinstance(cfg.train_params.lr_kp_detector, float)
    assert cfg.train_params.batch_size == 27
    assert cfg.model_params.discriminator_params.use_kp is True


def test_bair_256_published_values():
    cfg = load_config(CONFIGS / "bair-256.yaml")
    assert cfg.train_params.num_epochs == 20
    assert cfg.train_params.epoch_milestones == (12, 18)
    assert cfg.train_params.checkpoint_freq == 10
    assert cfg.dataset_params.pairs_list is None


def test_fashion_256_published_values():
    cfg = load_config(CONFIGS / "fashion-256.yaml")
    jitter = cfg.dataset_params.augmentation_params.jitter_param
    assert jitter.hue == 0.1
    assert jitter.brightness == 0.0
    assert cfg.train_params.num_repeats == 50


def test_mgif_256_published_values():
    cfg = load_config(CONFIGS / "mgif-256.yaml")
    aug = cfg.dataset_params.augmentation_params
    assert aug.crop_param.size == (256, 256)
    assert aug.resize_param.ratio == (0.9, 1.1)
    assert aug.jitter_param.hue == 0.5
    assert aug.rotation_param is None
    assert cfg.model_params.kp_detector_params.single_jacobian_map is True
    assert cfg.train_params.checkpoint_freq == 100


def test_nemo_256_published_values():
    cfg = load_config(CONFIGS / "nemo-256.yaml")
    assert cfg.dataset_params.root_dir == "data/nemo-png"
    assert cfg.dataset_params.augmentation_params.jitter_param is None
    assert cfg.train_params.num_repeats == 8


def test_fixture_vox_small_loads():
    cfg = load_config(FIXTURES / "vox_small.yaml")
    assert cfg.model_params.kp_detector_params.block_expansion == 8
    assert cfg.model_params.generator_params.dense_motion_params.max_features == 64


# ------------------------------------------------------------------- defaults


def test_missing_sections_and_keys_get_official_defaults():
    data = _vox_dict()
    cfg = config_from_dict({"model_params": data["model_params"]})
    assert cfg.source_path == "<dict>"
    assert cfg.dataset_params.augmentation_params.flip_param is None
    assert cfg.dataset_params.root_dir is None
    assert cfg.visualizer_params.draw_border is False
    assert cfg.animate_params.normalization_params.use_relative_movement is False
    assert cfg.model_params.kp_detector_params.pad == 0
    assert cfg.model_params.generator_params.dense_motion_params.kp_variance == 0.01
    del data["model_params"]["discriminator_params"]
    cfg = config_from_dict({"model_params": data["model_params"]})
    assert cfg.model_params.discriminator_params.block_expansion == 64
    assert cfg.model_params.discriminator_params.scales == ()


def test_rotation_and_crop_accept_number_or_pair():
    data = _vox_dict()
    aug = data["dataset_params"]["augmentation_params"]
    aug["rotation_param"] = {"degrees": 10}
    aug["crop_param"] = {"size": 200}
    cfg = config_from_dict(data).dataset_params.augmentation_params
    assert cfg.rotation_param.degrees == 10.0
    assert cfg.crop_param.size == 200
    aug["rotation_param"] = {"degrees": [-5, 15]}
    aug["crop_param"] = {"size": [200, 220]}
    cfg = config_from_dict(data).dataset_params.augmentation_params
    assert cfg.rotation_param.degrees == (-5.0, 15.0)
    assert cfg.crop_param.size == (200, 220)


# -------------------------------------------------------------- align_corners


def test_align_corners_explicit_false_is_honoured(tmp_path):
    data = _vox_dict()
    data["model_params"]["common_params"]["align_corners"] = False
    cfg = load_config(_write(tmp_path, data))
    assert cfg.model_params.common_params.align_corners is False


def test_with_align_corners_returns_modified_copy():
    cfg = load_config(CONFIGS / "vox-256.yaml")
    flipped = with_align_corners(cfg, False)
    assert flipped.model_params.common_params.align_corners is False
    assert cfg.model_params.common_params.align_corners is True
    assert flipped.source_path == cfg.source_path
    assert with_align_corners(flipped, True) == cfg
    with pytest.raises(ConfigError, match="align_corners' must be bool"):
        with_align_corners(cfg, 1)


# ----------------------------------------------------------------- round trip


def test_round_trip_preserves_everything():
    data = _vox_dict()
    data["model_params"]["common_params"]["align_corners"] = False
    data["dataset_params"]["augmentation_params"]["rotation_param"] = {"degrees": 5}
    cfg = config_from_dict(data, source="x.yaml")
    plain = config_to_dict(cfg)
    assert yaml.safe_load(yaml.safe_dump(plain)) == plain
    again = config_from_dict(plain, source="x.yaml")
    assert again == cfg
    assert dataclasses.asdict(again) == dataclasses.asdict(cfg)


def test_configs_are_frozen_and_hashable():
    cfg = load_config(CONFIGS / "vox-256.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model_params.common_params.num_kp = 5
    assert hash(cfg) == hash(copy.deepcopy(cfg))


# --------------------------------------------------------------------- errors


def test_unknown_top_level_key_names_file_and_suggestion(tmp_path):
    data = _vox_dict()
    data["model_param"] = data.pop("model_params")
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: unknown key 'model_param' (did you mean 'model_params'?)"
    )


def test_unknown_nested_key_names_dotted_path_and_suggestion(tmp_path):
    data = _vox_dict()
    common = data["model_params"]["common_params"]
    common["num_kps"] = common.pop("num_kp")
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: unknown key 'model_params.common_params.num_kps'"
        " (did you mean 'num_kp'?)"
    )


def test_unknown_deep_key_without_close_match():
    data = _vox_dict()
    data["dataset_params"]["augmentation_params"]["flip_param"]["zzz"] = 1
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, source="mine.yaml")
    assert str(info.value) == (
        "mine.yaml: unknown key 'dataset_params.augmentation_params.flip_param.zzz'"
    )


def test_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: cannot read config file: No such file or directory"
    )


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model_params: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid YAML: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "kind"), [("- 1\n- 2\n", "list"), ("", "NoneType"), ("3\n", "int")]
)
def test_top_level_not_a_mapping(tmp_path, text, kind):
    path = tmp_path / "top.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: top level must be a mapping, got {kind}"


def test_section_not_a_mapping():
    data = _vox_dict()
    data["model_params"]["generator_params"] = [1, 2]
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert str(info.value) == (
        "<dict>: key 'model_params.generator_params' must be a mapping, got list"
    )


def test_wrong_type_string_for_int(tmp_path):
    data = _vox_dict()
    data["model_params"]["common_params"]["num_kp"] = "ten"
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: key 'model_params.common_params.num_kp' must be int, got str 'ten'"
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("common_params", "num_kp", True, "must be int, got bool True"),
        ("common_params", "num_kp", 10.0, "must be int, got float 10.0"),
        ("common_params", "estimate_jacobian", 1, "must be bool, got int 1"),
        ("kp_detector_params", "temperature", "0.1", "must be float, got str"),
        ("discriminator_params", "scales", 1, "must be list of float, got int 1"),
    ],
)
def test_wrong_types_are_rejected(section, key, value, expected):
    data = _vox_dict()
    data["model_params"][section][key] = value
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert f"'model_params.{section}.{key}' {expected}" in str(info.value)


def test_wrong_item_type_and_tuple_length():
    data = _vox_dict()
    data["train_params"]["scales"] = [1, "half"]
    with pytest.raises(ConfigError, match=r"'train_params.scales\[1\]' must be float"):
        config_from_dict(data)
    data = _vox_dict()
    data["dataset_params"]["frame_shape"] = [256, 256]
    with pytest.raises(
        ConfigError,
        match=r"'dataset_params.frame_shape' must be list of 3 int, got list",
    ):
        config_from_dict(data)


def test_ints_are_accepted_as_floats():
    data = _vox_dict()
    data["model_params"]["kp_detector_params"]["temperature"] = 1
    cfg = config_from_dict(data)
    assert cfg.model_params.kp_detector_params.temperature == 1.0
    assert isinstance(cfg.model_params.kp_detector_params.temperature, float)
    assert all(isinstance(s, float) for s in cfg.train_params.scales)


def test_missing_required_key():
    data = _vox_dict()
    del data["model_params"]["kp_detector_params"]["temperature"]
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, source="m.yaml")
    assert str(info.value) == (
        "m.yaml: missing key 'model_params.kp_detector_params.temperature'"
    )


def test_missing_model_params():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"train_params": {}})
    assert str(info.value) == "<dict>: missing key 'model_params'"


@pytest.mark.parametrize(
    "side, scales, num_blocks, message",
    [
        (64, [1], 5, "num_blocks 5 leaves no pixel of a 64-pixel frame side at "
                     "scale 1 (at most 4 blocks fit)"),
        (80, [1, 0.5], 4, "num_blocks 4 leaves no pixel of a 80-pixel frame side "
                          "at scale 0.5 (at most 3 blocks fit)"),
    ],
)  # fmt: skip
def test_discriminator_deeper_than_the_frame_is_a_config_error(
    side, scales, num_blocks, message
):
    data = _vox_dict()
    data["dataset_params"]["frame_shape"] = [side, side, 3]
    data["model_params"]["discriminator_params"].update(
        scales=scales, num_blocks=num_blocks
    )
    full = f"cfg.yaml: model_params.discriminator_params.{message}"
    with pytest.raises(ConfigError, match=f"^{re.escape(full)}$"):
        config_from_dict(data, "cfg.yaml")
    data["model_params"]["discriminator_params"]["num_blocks"] = num_blocks - 1
    config_from_dict(data, "cfg.yaml")  # one block fewer fits
