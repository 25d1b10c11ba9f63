"""Small crafted files end quickly with a one-line error and little memory.

Every file is made here, a few hundred bytes to a few MB: torch checkpoints
(stride-0 tensors, storages larger than the file, zip bombs, exponential shared
tuples as keys and persistent ids, ``BUILD`` on a function, too many opcodes),
``.keras`` files (oversized, invalid or malformed stored configs, no weights), a
PNG header of 100000x100000 and model cards that do not fit their files. All are
loaded in one child process (one TensorFlow import), which must stay under
1 GiB of peak memory, each load under 10 s.
"""

import json
import struct
import zipfile
import zlib

import pytest

from fomm_tf import torch_checkpoint
from tests.bounded import call_each
from tests.harness import REPO
from tests.test_torch_checkpoint import (
    _dict_pickle,
    _frag,
    _global,
    _tensor_ops,
    _write_legacy,
    _write_zip,
)

BUNDLED_KERAS = REPO / "fomm_tf" / "assets" / "synthetic-64.keras"
MAX_SECONDS = 10
MAX_PEAK_MIB = 1024
DEPTH = 40  # 2**40 leaves: hashing, str() or repr() of it never finishes


def _dag(depth=DEPTH):
    """Opcodes pushing a tuple whose two items are the same tuple, ``depth`` deep."""
    ops = _frag("leaf") + b"q\x000"  # BINPUT 0, POP
    for level in range(depth):
        get = b"h" + bytes([level])
        ops += get + get + b"\x86q" + bytes([level + 1]) + b"0"  # TUPLE2, BINPUT
    return ops + b"h" + bytes([depth])


def _storage_id(*items):
    """A BINPERSID of the tuple of opcode strings ``items``."""
    return b"(" + b"".join(items) + b"tQ"


def _pickle(ops):
    return b"\x80\x02" + ops + b"."


def _sections(kp_detector_entries):
    """A FOMM checkpoint pickle: ``kp_detector`` holds the (key ops, value ops)
    entries, ``generator`` and ``discriminator`` are empty."""
    items = b"".join(key + value for key, value in kp_detector_entries)
    return _pickle(
        b"}(" + _frag("kp_detector") + b"}(" + items + b"u"
        + _frag("generator") + b"}" + _frag("discriminator") + b"}u"
    )  # fmt: skip


READ, STATE_DICTS = "read_torch_checkpoint", "load_state_dicts"


def torch_cases(folder):
    """{name: (reader, path, expected message)} for crafted torch checkpoints."""
    storage = (_frag("storage"), _global("torch", "FloatStorage"))
    one = _tensor_ops("0", 1, 0, (1,), (1,))
    ops = torch_checkpoint.MAX_PICKLE_OPS

    def with_id(*items):
        return _pickle(b"}(" + _frag("w") + _storage_id(*items) + b"u")

    # fmt: off
    zips = {  # name: (reader, data.pkl, storage records, expected message)
        "zip-storage-beyond-file": (READ, _dict_pickle(
            {"w": _tensor_ops("0", 2**40, 0, (4,), (1,))}), {"0": bytes(16)},
            "the storages declare 4398046511104 bytes"),
        "pid-dag": (READ, with_id(*storage, _frag("0"), _frag("cpu"), _frag(1),
                                  _frag(None), _dag()), {},
                    "unsupported persistent id"),
        "storage-key-dag": (READ, with_id(*storage, _dag(), _frag("cpu"), _frag(1)),
                            {}, "storage key of type tuple"),
        "dict-key-dag": (READ, _pickle(b"}" + _dag() + b"K\x01s"), {},
                         "dict key of type tuple"),
        "build-on-function": (READ, _pickle(
            _global("torch._utils", "_rebuild_tensor") + b"}" + _frag("x")
            + _frag(1) + b"sb0}"), {}, "sets attributes of a function"),
        "ordered-dict-with-items": (READ, _pickle(
            _global("collections", "OrderedDict") + b"(](" + _dag() + b"K\x01tatR"),
            {}, "TypeError"),
        "set": (READ, _pickle(b"\x8f"), {}, "builds a set or an object"),
        "too-many-opcodes": (READ, _pickle(b"](" + b"N" * ops + b"e"), {},
                             f"more than {ops} opcodes"),
        "deep-nesting": (READ, _pickle(
            b"}" + _frag("w") + b"]" * 100_000 + b"a" * 99_999 + b"s"), {},
            "RecursionError"),
        "int-state-dict-keys": (STATE_DICTS, _sections([(_frag(7), one)]),
                                {"0": bytes(4)}, "keys that are not str"),
        "bytes-state-dict-keys": (STATE_DICTS, _sections([(b"C\x01w", one)]),
                                  {"0": bytes(4)}, "keys that are not str"),
    }
    cases = {
        name: (reader, _write_zip(folder / f"{name}.pth", data, records), message)
        for name, (reader, data, records, message) in zips.items()
    }
    stride0 = _tensor_ops("0", 1, 0, (100000, 100000), (0, 0))
    cases["legacy-stride-0"] = (STATE_DICTS, _write_legacy(
        folder / "stride0.pth", _sections([(_frag("w"), stride0)]),
        {"0": (1, bytes(4))}), "more than 2 times the file's")
    cases["zip-deflated-storage"] = (READ, _zip_bomb(
        folder / "bomb.pth", "mytop/data/0", 16 << 20,
        _dict_pickle({"w": _tensor_ops("0", 4 << 20, 0, (4,), (1,))})),
        "truncated, file ends in storage data")
    cases["zip-data-pkl-bomb"] = (READ, _zip_bomb(
        folder / "pkl.pth", "mytop/data.pkl", torch_checkpoint.MAX_PICKLE_BYTES + 1),
        f"more than {torch_checkpoint.MAX_PICKLE_BYTES}")
    cases["zip-byteorder-bomb"] = (READ, _zip_bomb(
        folder / "order.pth", "mytop/byteorder", 1 << 20, b"\x80\x02}."),
        "byteorder holds 1048576 bytes")
    # fmt: on
    return cases


def _zip_bomb(path, name, size, data_pkl=None):
    """A zip whose member ``name`` deflates ``size`` zero bytes (plus a data.pkl)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        if data_pkl is not None:
            archive.writestr("mytop/data.pkl", data_pkl)
        with archive.open(info, "w", force_zip64=True) as member:
            for _ in range(size >> 20):
                member.write(bytes(1 << 20))
            member.write(bytes(size & ((1 << 20) - 1)))
    return path


def keras_cases(folder):
    """{name: (path, expected message)} for crafted ``.keras`` files."""
    with zipfile.ZipFile(BUNDLED_KERAS) as archive:
        saved = json.loads(archive.read("config.json"))

    def stored(name, config_json, weights=None):
        """A ``.keras`` of the bundled metadata and ``config_json``, with
        ``weights`` as its weights file (None: no weights file)."""
        path = folder / f"{name}.keras"
        with zipfile.ZipFile(path, "w") as out:
            out.writestr("metadata.json", json.dumps({"keras_version": "3"}))
            out.writestr("config.json", config_json)
            if weights is not None:
                out.writestr("model.weights.h5", weights, zipfile.ZIP_DEFLATED)
        return path

    def changed(*keys, value):
        """The bundled config.json with one stored config key set to ``value``."""
        edited = json.loads(json.dumps(saved))
        section = edited["config"]["config"]
        for key in keys[:-1]:
            section = section[key]
        section[keys[-1]] = value
        return json.dumps(edited)

    def widest():
        """The bundled config.json with every network as wide as the bounds allow
        (building it would take more than 1 GB)."""
        edited = json.loads(json.dumps(saved))
        params = edited["config"]["config"]["model_params"]
        generator = params["generator_params"]
        for section in (
            params["kp_detector_params"],
            generator,
            generator["dense_motion_params"],
        ):
            section.update(block_expansion=256, max_features=1024)
        return json.dumps(edited)

    model = "model_params"
    return {
        "width-200000": (stored("w200000", changed(
            model, "generator_params", "block_expansion", value=200000)),
            "must be in [1, 256]"),
        "width-3000": (stored("w3000", changed(
            model, "kp_detector_params", "block_expansion", value=3000)),
            "must be in [1, 256]"),
        "frame-shape-0": (stored("shape0", changed(
            "dataset_params", "frame_shape", value=[0, 0, 3])),
            "must be in [1, 1024]"),
        "config-a-string": (stored("string", json.dumps({"config": "vox"})),
                            "not a fomm_tf .keras file"),
        "config-a-list": (stored("list", json.dumps([1, 2])),
                          "not a fomm_tf .keras file"),
        "deep-json": (stored("deep", "[" * 100_000 + "]" * 100_000),
                      "not a fomm_tf .keras file"),
        "huge-config": (stored("huge", " " * (2 << 20)), "more than 1048576"),
        "no-weights": (stored("noweights", json.dumps(saved)),
                       "no model.weights.h5 inside"),
        # Widest stored config the bounds admit: refused before its model is built.
        "no-weights-at-bounds": (stored("widest", widest()),
                                 "no model.weights.h5 inside"),
        # ... and with weights too small for it, or declared large but a zip
        # bomb: refused before its variables take any memory.
        "fake-weights-at-bounds": (
            stored("widest-fake", widest(), weights=b"\x89HDF\r\n\x1a\n" * 8),
            "too few for the"),
        "weights-zip-bomb": (
            stored("bomb", json.dumps(saved), weights=bytes(64 << 20)),
            "too few for the"),
    }  # fmt: skip


def png_header(path, width, height):
    """A PNG whose header declares ``width`` x ``height`` (with one tiny IDAT)."""

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


SPLIT_MODELS = [
    {"signature": name, "file": f"{name}.tflite"}
    for name in ("keypoint_detector", "source_encoder", "frame_generator")
]
GOOD_CARD = {
    "layout": "split",
    "frame_shape": [64, 64, 3],
    "normalization_flags": {
        "order": ["use_relative_movement", "use_relative_jacobian",
                  "adapt_movement_scale"],
        "config_default": [1, 1, 1],
    },
    "models": SPLIT_MODELS,
}  # fmt: skip


def card_cases(folder):
    """{name: (export folder, expected message)} for cards that do not fit."""
    cases = {
        "unknown-flag": ({"normalization_flags": {
            "order": ["use_relative_movement", "use_magic", "adapt_movement_scale"],
            "config_default": [1, 1, 1]}}, "are not use_relative_movement"),
        "layout-mismatch": ({"layout": "single"}, "layout single needs the models"),
        "missing-model": ({"models": SPLIT_MODELS[:2]}, "split needs the models"),
        "model-path": ({"models": [*SPLIT_MODELS[:2], {
            "signature": "frame_generator", "file": "../x.tflite"}]},
            "must be file names"),
    }  # fmt: skip
    out = {}
    for name, (change, message) in cases.items():
        directory = folder / name
        directory.mkdir()
        (directory / "model_card.json").write_text(json.dumps({**GOOD_CARD, **change}))
        out[name] = (directory, message)
    return out


def test_crafted_files_fail_fast_in_bounded_memory(tmp_path):
    calls, expected = {}, {}
    for name, (reader, path, message) in torch_cases(tmp_path).items():
        calls[name] = (f"fomm_tf.torch_checkpoint:{reader}", [str(path)])
        expected[name] = ("CheckpointError", message)
    calls["vgg-weights-dag"] = (
        "fomm_tf.training.vgg19:vgg19_state_dict",
        [str(tmp_path / "dict-key-dag.pth")],
    )
    expected["vgg-weights-dag"] = ("CheckpointError", "dict key of type tuple")
    for name, (path, message) in keras_cases(tmp_path).items():
        calls[name] = ("fomm_tf.checkpoints:load_checkpoint", [None, str(path)])
        kind = "ConfigError" if "must be in" in message else "CheckpointError"
        expected[name] = (kind, message)
    calls["png-100000"] = (
        "fomm_tf.video_io:read_image",
        [str(png_header(tmp_path / "big.png", 100000, 100000))],
    )
    expected["png-100000"] = ("MediaError", "not a readable image")
    for name, (directory, message) in card_cases(tmp_path).items():
        calls[f"card-{name}"] = (
            "fomm_tf.inference.litert_runner:LiteRTRunner",
            [str(directory)],
        )
        expected[f"card-{name}"] = ("ExportError", message)

    results, measured = call_each(calls)

    assert measured.peak_mib < MAX_PEAK_MIB, measured
    for name, (kind, message) in expected.items():
        result = results[name]
        assert result["error"] == kind and message in result["message"], (name, result)
        assert "\n" not in result["message"], (name, result)
        assert len(result["message"]) < 1000, (name, len(result["message"]))
        assert result["seconds"] < MAX_SECONDS, (name, result)


def test_config_bounds_admit_every_published_config():
    from fomm_tf import config

    paths = [
        *(REPO / "configs").glob("*.yaml"),
        *(REPO / "fomm_tf" / "assets").glob("*.yaml"),
    ]
    assert len(paths) >= 9
    for path in paths:
        config.load_config(path)


@pytest.mark.parametrize(
    "target",
    [_global("torch._utils", "_rebuild_parameter"), _global("torch", "FloatStorage")],
    ids=["function", "storage-type"],
)
def test_build_never_changes_an_admitted_global(tmp_path, target):
    """``BUILD`` on an admitted stand-in is refused before it runs."""
    payload = _pickle(target + b"}" + _frag("marker") + _frag(1) + b"sb0}")
    with pytest.raises(torch_checkpoint.CheckpointError, match="sets attributes"):
        torch_checkpoint.read_torch_checkpoint(
            _write_zip(tmp_path / "build.pth", payload, {})
        )
    assert not hasattr(torch_checkpoint._rebuild_parameter, "marker")
