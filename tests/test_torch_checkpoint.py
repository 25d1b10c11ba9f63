"""Tests for reading torch checkpoints without torch (``fomm_tf.torch_checkpoint``).

Synthetic checkpoints are written opcode by opcode, since pickling a reference
to a torch function would need torch itself.
"""

import json
import os
import pickle
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fomm_tf.torch_checkpoint import (
    CheckpointError,
    load_state_dicts,
    read_torch_checkpoint,
)

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
REFERENCE = FIXTURES / "fomm_reference"
ZIP_FIXTURE = REFERENCE / "vox_small.pth.tar"
LEGACY_FIXTURE = REFERENCE / "vox_small_legacy.pth.tar"
needs_fixtures = pytest.mark.skipif(
    not ZIP_FIXTURE.is_file(), reason="fomm_reference fixtures not available"
)
LEGACY_HEADER = b"".join(
    pickle.dumps(obj, protocol=2)
    for obj in (
        0x1950A86A20F9469CFC6C,
        1001,
        {"protocol_version": 1001, "little_endian": True},
    )
)


# --- synthetic checkpoint writers -------------------------------------------


def _frag(obj):
    """Protocol-2 pickle opcodes that push ``obj`` (no PROTO header, no STOP)."""
    return pickle.dumps(obj, protocol=2)[2:-1]


def _global(module, name):
    """GLOBAL opcode pushing ``module.name``."""
    return f"c{module}\n{name}\n".encode()


def _tensor_ops(key, numel, offset, shape, stride, storage="FloatStorage", **kw):
    """Opcodes for ``_rebuild_tensor_v2`` on a storage persistent id.

    ``view`` (offset, numel) adds legacy view metadata; ``module`` names the
    storage class's module.
    """
    view = kw.get("view")
    pid = [_frag("storage"), _global(kw.get("module", "torch"), storage)]
    pid += [_frag(key), _frag("cpu"), _frag(numel)]
    if view is not None:
        pid.append(_frag((key + "_view", *view)))
    args = [_frag(offset), _frag(shape), _frag(stride), _frag(False), b"}"]
    return (
        _global("torch._utils", "_rebuild_tensor_v2")
        + b"(("
        + b"".join(pid)
        + b"tQ"
        + b"".join(args)
        + b"tR"
    )


def _dict_pickle(entries):
    """A protocol-2 pickle of a dict whose values are the given opcode strings."""
    items = b"".join(_frag(key) + ops for key, ops in entries.items())
    return b"\x80\x02}(" + items + b"u."


def _write_zip(path, data_pkl, storages, byteorder="little", top="mytop"):
    """A zip-format checkpoint with ``storages`` (key -> bytes) under ``top``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{top}/data.pkl", data_pkl)
        archive.writestr(f"{top}/byteorder", byteorder)
        for key, raw in storages.items():
            archive.writestr(f"{top}/data/{key}", raw)
    return path


def _write_legacy(path, data_pkl, storages):
    """A legacy-format checkpoint; ``storages`` maps key -> (numel, bytes)."""
    parts = [LEGACY_HEADER, data_pkl, pickle.dumps(list(storages), protocol=2)]
    for numel, raw in storages.values():
        parts += [struct.pack("<q", numel), raw]
    path.write_bytes(b"".join(parts))
    return path


# --- the reference fixtures ---------------------------------------------------


@pytest.fixture(scope="module")
def manifest():
    """The ``state_dict`` section of the fixture manifest: name -> key -> shape."""
    text = (REFERENCE / "vox_small_manifest.json").read_text()
    return json.loads(text)["state_dict"]


@pytest.fixture(scope="module")
def zip_checkpoint():
    """The zip-format fixture, fully read."""
    return read_torch_checkpoint(ZIP_FIXTURE)


@pytest.fixture(scope="module")
def legacy_checkpoint():
    """The legacy-format fixture, fully read."""
    return read_torch_checkpoint(LEGACY_FIXTURE)


def _assert_matches_manifest(checkpoint, manifest):
    """Every manifest key is present with its shape, as a C-contiguous array."""
    for name, shapes in manifest.items():
        assert set(checkpoint[name]) == set(shapes)
        for key, shape in shapes.items():
            array = checkpoint[name][key]
            assert isinstance(array, np.ndarray)
            assert array.shape == tuple(shape), key
            assert array.flags.c_contiguous
            expected = np.int64 if key.endswith("num_batches_tracked") else np.float32
            assert array.dtype == expected, key


@needs_fixtures
def test_zip_fixture_matches_manifest(zip_checkpoint, manifest):
    """The zip fixture holds exactly the three model state dicts of the manifest."""
    assert list(zip_checkpoint) == ["kp_detector", "generator", "discriminator"]
    _assert_matches_manifest(zip_checkpoint, manifest)


@needs_fixtures
def test_legacy_fixture_matches_manifest(legacy_checkpoint, manifest):
    """The legacy fixture holds the state dicts plus epoch and optimizer states."""
    _assert_matches_manifest(legacy_checkpoint, manifest)
    assert legacy_checkpoint["epoch"] == 99
    adam = legacy_checkpoint["optimizer_generator"]
    assert adam["param_groups"][0]["betas"] == (0.5, 0.999)
    assert isinstance(adam["state"][0]["exp_avg"], np.ndarray)


@needs_fixtures
def test_formats_are_bit_identical(zip_checkpoint, legacy_checkpoint, manifest):
    """Both serialisations decode to the same bytes for every tensor."""
    for name, shapes in manifest.items():
        for key in shapes:
            new, old = zip_checkpoint[name][key], legacy_checkpoint[name][key]
            assert new.dtype == old.dtype and new.tobytes() == old.tobytes(), key
    weights = zip_checkpoint["generator"]["final.weight"]
    assert np.all(np.isfinite(weights)) and np.any(weights != 0)


@needs_fixtures
@pytest.mark.parametrize("path", [ZIP_FIXTURE, LEGACY_FIXTURE], ids=["zip", "legacy"])
def test_load_state_dicts_keeps_only_models(path, zip_checkpoint):
    """load_state_dicts returns plain name -> array dicts and skips the extras."""
    states = load_state_dicts(path)
    assert list(states) == ["kp_detector", "generator", "discriminator"]
    for name, state in states.items():
        assert type(state) is dict
        assert state.keys() == zip_checkpoint[name].keys()
        for key, array in state.items():
            assert np.array_equal(array, zip_checkpoint[name][key])


@needs_fixtures
def test_load_state_dicts_names_missing_sections():
    """Only the requested sections that are absent are listed."""
    with pytest.raises(CheckpointError, match=r"missing model sections \['extra'\]"):
        load_state_dicts(ZIP_FIXTURE, names=("generator", "extra"))
    some = load_state_dicts(
        LEGACY_FIXTURE, names=("kp_detector",), optional=("extra", "discriminator")
    )
    assert list(some) == ["kp_detector", "discriminator"]


@needs_fixtures
def test_load_state_dicts_refuses_non_tensor_sections():
    """An optimizer state is not a model state dict."""
    with pytest.raises(CheckpointError, match="optimizer_generator has non-tensor"):
        load_state_dicts(LEGACY_FIXTURE, names=("optimizer_generator",))


# --- tensor layout ------------------------------------------------------------


def test_strides_offsets_and_shared_storage(tmp_path):
    """Transposed, offset and scalar views of one storage read as torch has them."""
    storage = np.arange(12, dtype=np.float32)
    data_pkl = _dict_pickle(
        {
            "transposed": _tensor_ops("0", 12, 0, (4, 3), (1, 4)),
            "window": _tensor_ops("0", 12, 5, (2, 2), (3, 1)),
            "scalar": _tensor_ops("0", 12, 7, (), ()),
            "empty": _tensor_ops("0", 12, 0, (0, 3), (3, 1)),
        }
    )
    path = _write_zip(tmp_path / "layout.pth", data_pkl, {"0": storage.tobytes()})
    got = read_torch_checkpoint(path)
    assert np.array_equal(got["transposed"], storage.reshape(3, 4).T)
    assert got["transposed"].flags.c_contiguous
    assert np.array_equal(got["window"], [[5, 6], [8, 9]])
    assert got["scalar"].shape == () and got["scalar"] == 7
    assert got["empty"].shape == (0, 3)
    got["window"][0, 0] = -1
    assert got["transposed"][2, 1] == 6, "arrays must not share memory"


def test_big_endian_and_bfloat16(tmp_path):
    """The zip byteorder record is honoured and bfloat16 widens to float32."""
    values = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype(">u2")
    data_pkl = _dict_pickle(
        {
            "f64": _tensor_ops("a", 3, 0, (3,), (1,), "DoubleStorage"),
            "bf16": _tensor_ops("b", 3, 0, (3,), (1,), "BFloat16Storage"),
        }
    )
    storages = {"a": values.astype(">f8").tobytes(), "b": bf16.tobytes()}
    got = read_torch_checkpoint(
        _write_zip(tmp_path / "be.pth", data_pkl, storages, "big")
    )
    assert got["f64"].dtype == np.float64 and np.array_equal(got["f64"], values)
    assert got["bf16"].dtype == np.float32 and np.array_equal(got["bf16"], values)


def test_legacy_views_and_cuda_storages(tmp_path):
    """Legacy view metadata and ``torch.cuda`` storage classes are understood."""
    data_pkl = _dict_pickle(
        {
            "view": _tensor_ops("7", 10, 1, (2,), (1,), "LongStorage", view=(4, 3)),
            "gpu": _tensor_ops(
                "8", 2, 0, (2,), (1,), "HalfStorage", module="torch.cuda"
            ),
        }
    )
    storages = {
        "7": (10, np.arange(10, dtype="<i8").tobytes()),
        "8": (2, np.array([0.5, 2], dtype="<f2").tobytes()),
    }
    got = read_torch_checkpoint(_write_legacy(tmp_path / "old.pth", data_pkl, storages))
    assert got["view"].dtype == np.int64 and got["view"].tolist() == [5, 6]
    assert got["gpu"].dtype == np.float16 and got["gpu"].tolist() == [0.5, 2.0]


def test_tensor_outside_its_storage_is_refused(tmp_path):
    """A size/stride reaching past the storage is an error, not a wild read."""
    data_pkl = _dict_pickle({"w": _tensor_ops("0", 4, 2, (2, 2), (2, 1))})
    path = _write_zip(tmp_path / "oob.pth", data_pkl, {"0": bytes(16)})
    with pytest.raises(CheckpointError, match="reaches element 5 of a storage with 4"):
        read_torch_checkpoint(path)


# --- security -----------------------------------------------------------------


class _Exploit:
    """Pickles to a call of ``os.system`` that would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _malicious_files(tmp_path, payload):
    """The payload as a raw pickle, after a legacy header, and as zip data.pkl."""
    raw = tmp_path / "raw.pth"
    raw.write_bytes(payload)
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(LEGACY_HEADER + payload)
    archive = _write_zip(tmp_path / "zip.pth", payload, {}, top="archive")
    return [raw, legacy, archive]


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_unexecuted(tmp_path, protocol):
    """os.system is refused by name in every format and never runs."""
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"generator": _Exploit(marker)}, protocol=protocol)
    for path in _malicious_files(tmp_path, payload):
        with pytest.raises(
            CheckpointError, match=r"refused pickle global (posix|os)\."
        ):
            read_torch_checkpoint(path)
        with pytest.raises(CheckpointError, match=re.escape(str(path))):
            load_state_dicts(path)
    assert not marker.exists()


def test_any_other_global_is_refused(tmp_path):
    """Globals outside the allow-list are refused even when never called."""
    payload = b"\x80\x02}(X\x01\x00\x00\x00x" + _global("builtins", "eval") + b"u."
    path = _write_zip(tmp_path / "eval.pth", payload, {})
    with pytest.raises(CheckpointError, match=r"refused pickle global builtins\.eval"):
        read_torch_checkpoint(path)


# --- broken files -------------------------------------------------------------


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"model weights\n", "not a PyTorch checkpoint"),
        (PNG_HEADER, "not a PyTorch checkpoint"),
        (b"\x80\x02K\x07.", "wrong magic number"),
        (LEGACY_HEADER + b"\x80\x02]q\x00(K\x01", "truncated or corrupt pickle"),
    ],
    ids=["empty", "text", "png", "pickle", "cut-pickle"],
)
def test_non_checkpoints(tmp_path, content, message):
    """Files that are not checkpoints give a one-line error naming the file."""
    path = tmp_path / "bad.pth.tar"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        read_torch_checkpoint(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@needs_fixtures
@pytest.mark.parametrize(
    ("source", "fraction", "message"),
    [
        (LEGACY_FIXTURE, None, "truncated or corrupt pickle"),
        (LEGACY_FIXTURE, 0.5, "truncated, file ends in storage"),
        (ZIP_FIXTURE, None, "truncated or corrupt zip archive"),
        (ZIP_FIXTURE, 0.5, "truncated or corrupt zip archive"),
    ],
    ids=["legacy-1000", "legacy-half", "zip-1000", "zip-half"],
)
def test_truncated_fixtures(tmp_path, source, fraction, message):
    """The first 1000 bytes or the first half of either fixture is an error."""
    data = source.read_bytes()
    cut = tmp_path / "cut.pth.tar"
    cut.write_bytes(data[: int(len(data) * fraction) if fraction else 1000])
    for reader in (read_torch_checkpoint, load_state_dicts):
        with pytest.raises(CheckpointError, match=message):
            reader(cut)


def test_missing_file_and_zip_without_data_pkl(tmp_path):
    """A missing path and a zip lacking data.pkl are named errors."""
    with pytest.raises(CheckpointError, match="no such file"):
        read_torch_checkpoint(tmp_path / "absent.pth")
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/readme.txt", "hello")
    with pytest.raises(CheckpointError, match="zip archive has no data.pkl"):
        read_torch_checkpoint(path)


def test_missing_storage_record(tmp_path):
    """A zip whose data.pkl names a storage that is not in the archive."""
    data_pkl = _dict_pickle({"w": _tensor_ops("3", 2, 0, (2,), (1,))})
    path = _write_zip(tmp_path / "gap.pth", data_pkl, {})
    with pytest.raises(CheckpointError, match="storage record mytop/data/3 is missing"):
        read_torch_checkpoint(path)
