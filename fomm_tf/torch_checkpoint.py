"""Read PyTorch ``torch.save`` checkpoints into numpy arrays without torch.

Two on-disk formats are understood:

* the **zip** format (torch >= 1.6): a zip archive with one top folder (its name
  varies) holding ``data.pkl``, a ``byteorder`` record and one raw record per
  storage under ``data/<key>``;
* the **legacy** format (torch < 1.6, used by every released FOMM checkpoint):
  five consecutive pieces in one file, namely the pickled magic number, protocol
  version and system info, the object pickle, the pickled list of storage keys,
  and then, per key, an int64 element count followed by the little-endian bytes.

Pickles are read with a restricted unpickler: only tensor rebuild functions,
storage classes and ``collections.OrderedDict`` resolve, each to a local stand-in
that records metadata; any other global is refused before anything runs.
Tensors become C-contiguous numpy arrays (bfloat16 is widened to float32).

Bounded for any input, however crafted:

* the unpickler runs at most ``MAX_PICKLE_OPS`` opcodes (so it builds at most
  that many objects), a zip ``data.pkl`` holds at most ``MAX_PICKLE_BYTES``;
* dict keys are str, bytes or int (hashing them is linear), sets and object
  construction are refused, ``BUILD`` only sets attributes of an ``OrderedDict``;
* before any storage is read, every tensor must lie inside its storage, the
  storages it uses must fit in the file (a zip record holds its bytes, not a
  compressed promise of them) and the tensors together may hold at most
  ``MAX_DECODE_FACTOR`` times the file's size (a stride-0 or repeated view
  cannot multiply it);
* error messages show values through a bounded ``repr``.
"""

import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fomm_tf.errors import CheckpointError, brief, one_line

MODEL_NAMES = ("kp_detector", "generator", "discriminator")

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_SIGNATURE = b"PK\x03\x04"
_PICKLE_PROTO_OPCODE = b"\x80"
MAX_PICKLE_OPS = 1_000_000
MAX_PICKLE_BYTES = 64 << 20
MAX_DECODE_FACTOR = 2
_MAX_BYTEORDER_BYTES = 16
_KEY_TYPES = (str, bytes, int)
# Sets hash their items; these build objects by calling a class.
_REFUSED_OPCODES = frozenset(b"\x8f\x90\x91io\x81\x92")


class _Malformed(Exception):
    """A problem inside the file; ``_read`` turns it into a ``CheckpointError``."""


class _StorageType(NamedTuple):
    """Element type of a torch storage class, as stored on disk."""

    name: str
    code: str
    bfloat16: bool = False

    @property
    def itemsize(self):
        """Bytes per element on disk."""
        return np.dtype(self.code).itemsize


class _StorageRef(NamedTuple):
    """A storage named by a persistent id; ``view`` is (offset, numel) or None."""

    key: str
    stype: _StorageType
    numel: int
    view: tuple | None


class _TensorRef(NamedTuple):
    """A tensor awaiting its storage bytes: offset, shape and stride in elements."""

    storage: _StorageRef
    offset: int
    shape: tuple
    stride: tuple


_STORAGE_TYPES = {
    t.name: t
    for t in (
        _StorageType("FloatStorage", "f4"),
        _StorageType("DoubleStorage", "f8"),
        _StorageType("HalfStorage", "f2"),
        _StorageType("BFloat16Storage", "u2", bfloat16=True),
        _StorageType("LongStorage", "i8"),
        _StorageType("IntStorage", "i4"),
        _StorageType("ShortStorage", "i2"),
        _StorageType("CharStorage", "i1"),
        _StorageType("ByteStorage", "u1"),
        _StorageType("BoolStorage", "?"),
    )
}
# Checkpoints saved from a GPU (as the released FOMM ones were) name
# ``torch.cuda.FloatStorage``; the bytes are the same, so they load on the CPU.
_STORAGE_MODULES = ("torch", "torch.cuda")


def _int_tuple(value, what):
    """Validate a tuple of non-negative ints (a torch size or stride)."""
    if not isinstance(value, tuple) or not all(
        type(v) is int and v >= 0 for v in value
    ):
        raise _Malformed(f"tensor {what} is not a tuple of non-negative ints")
    return value


def _rebuild_tensor(storage, storage_offset, size, stride, *_unused):
    """Stand-in for ``torch._utils._rebuild_tensor`` and ``_rebuild_tensor_v2``.

    The extra v2 arguments (requires_grad, backward hooks, metadata) carry no
    data and are ignored.
    """
    if not isinstance(storage, _StorageRef):
        raise _Malformed("tensor rebuilt from something that is not a storage")
    if type(storage_offset) is not int or storage_offset < 0:
        raise _Malformed("tensor storage offset is not a non-negative int")
    shape = _int_tuple(size, "size")
    strides = _int_tuple(stride, "stride")
    if len(shape) != len(strides):
        raise _Malformed("tensor size and stride differ in length")
    return _TensorRef(storage, storage_offset, shape, strides)


def _rebuild_parameter(data, _requires_grad, _backward_hooks):
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its data."""
    if not isinstance(data, _TensorRef):
        raise _Malformed("parameter rebuilt from something that is not a tensor")
    return data


def _ordered_dict():
    """Stand-in for ``collections.OrderedDict``: torch pickles call it bare."""
    return OrderedDict()


_ADMITTED_CALLABLES = {
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "collections.OrderedDict": _ordered_dict,
}


def _check_keys(keys):
    """Dict keys must hash in linear time: str, bytes or int."""
    for key in keys:
        if type(key) not in _KEY_TYPES:
            raise _Malformed(f"dict key of type {type(key).__name__} in the pickle")


def _counted(load):
    """``load`` run only while the pickle stays under ``MAX_PICKLE_OPS`` opcodes."""

    def counted(self):
        self.ops += 1
        if self.ops > MAX_PICKLE_OPS:
            raise _Malformed(f"pickle has more than {MAX_PICKLE_OPS} opcodes")
        load(self)

    return counted


def _refused(self):
    """Opcodes that hash items (sets) or build objects by calling a class."""
    raise _Malformed("pickle builds a set or an object (not a checkpoint)")


class _RestrictedUnpickler(pickle._Unpickler):
    """Unpickler that resolves only the admitted globals to local stand-ins.

    The pure-Python unpickler, so that every opcode is counted and the ones
    that hash keys or set attributes are checked first.  ``storages`` maps each
    storage key seen in a persistent id to its ``_StorageRef`` (the first one
    seen wins, as in torch).
    """

    def __init__(self, file):
        """Read pickles from ``file``."""
        super().__init__(file)
        self.storages = {}
        self.ops = 0

    def load_setitem(self):
        """``dict[key] = value`` for a checked key."""
        _check_keys(self.stack[-2:-1])
        super().load_setitem()

    def load_setitems(self):
        """Several ``dict[key] = value`` for checked keys."""
        _check_keys(self.stack[::2])  # the items pushed since the mark
        super().load_setitems()

    def load_dict(self):
        """A dict from the stack, its keys checked."""
        _check_keys(self.stack[::2])
        super().load_dict()

    def load_build(self):
        """Attributes of an ``OrderedDict`` (torch's ``_metadata``), nothing else."""
        state, target = self.stack[-1], self.stack[-2]
        if type(target) is not OrderedDict or type(state) is not dict:
            raise _Malformed(
                f"pickle sets attributes of a {type(target).__name__} "
                "(only an OrderedDict's may be set)"
            )
        if any(type(name) is not str for name in state):
            raise _Malformed("pickle sets attributes whose names are not str")
        super().load_build()

    dispatch = {
        code: _counted(_refused if code in _REFUSED_OPCODES else load)
        for code, load in pickle._Unpickler.dispatch.items()
    }
    dispatch[pickle.SETITEM[0]] = _counted(load_setitem)
    dispatch[pickle.SETITEMS[0]] = _counted(load_setitems)
    dispatch[pickle.DICT[0]] = _counted(load_dict)
    dispatch[pickle.BUILD[0]] = _counted(load_build)

    def find_class(self, module, name):
        """Return the stand-in for an admitted global, refuse any other."""
        qualname = f"{module}.{name}"
        if qualname in _ADMITTED_CALLABLES:
            return _ADMITTED_CALLABLES[qualname]
        if module in _STORAGE_MODULES and name in _STORAGE_TYPES:
            return _STORAGE_TYPES[name]
        raise _Malformed(
            f"refused pickle global {qualname[:200]} "
            "(only tensors and plain containers may be loaded)"
        )

    def persistent_load(self, pid):
        """Turn a ``('storage', type, key, location, numel[, view])`` id into a ref."""
        if not (type(pid) is tuple and len(pid) in (5, 6) and pid[0] == "storage"):
            raise _Malformed(f"unsupported persistent id {brief(pid)}")
        stype, key, numel = pid[1], _as_str(pid[2]), pid[4]
        if not isinstance(stype, _StorageType) or type(numel) is not int or numel < 0:
            raise _Malformed(f"malformed storage id {brief(pid)}")
        root = self.storages.setdefault(key, _StorageRef(key, stype, numel, None))
        view = pid[5] if len(pid) == 6 else None
        if view is None:
            return root
        if not (type(view) is tuple and len(view) == 3):
            raise _Malformed(f"malformed storage view {brief(view)}")
        return root._replace(view=_int_tuple(view[1:], "storage view"))


def _as_str(key):
    """Storage keys are str, or ASCII bytes in files written by Python 2."""
    if type(key) is bytes:
        return key.decode("ascii")
    if type(key) is not str:
        raise _Malformed(f"storage key of type {type(key).__name__}")
    return key


def _decode_storage(raw, ref, byteorder):
    """Decode the raw bytes of a whole storage into a native 1-D numpy array."""
    disk_dtype = np.dtype(ref.stype.code).newbyteorder(byteorder)
    flat = np.frombuffer(raw, dtype=disk_dtype, count=ref.numel)
    if ref.stype.bfloat16:
        return (flat.astype(np.uint32) << 16).view(np.float32)
    return flat.astype(disk_dtype.newbyteorder("="), copy=False)


def _materialize(tensor, storages):
    """Build a C-contiguous array for a checked ``tensor`` from decoded ``storages``."""
    flat = storages[tensor.storage.key]
    if tensor.storage.view is not None:
        view_offset, view_numel = tensor.storage.view
        flat = flat[view_offset : view_offset + view_numel]
    if 0 in tensor.shape:
        return np.zeros(tensor.shape, dtype=flat.dtype)
    strides = tuple(s * flat.itemsize for s in tensor.stride)
    view = np.lib.stride_tricks.as_strided(flat[tensor.offset :], tensor.shape, strides)
    return np.array(view, order="C", copy=True)


def _map_tensors(obj, fn, memo=None):
    """Copy dicts, lists and tuples in ``obj``, replacing each tensor by ``fn(it)``.

    Every container and tensor is visited once (memoised by identity; mutable
    containers before their items), so the reference cycles and shared
    sub-structures a pickle can build are neither followed forever nor copied
    exponentially often.
    """
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, _TensorRef):
        out = fn(obj)
    elif type(obj) in (dict, OrderedDict):
        out = memo[id(obj)] = type(obj)()
        out.update((k, _map_tensors(v, fn, memo)) for k, v in obj.items())
    elif type(obj) is list:
        out = memo[id(obj)] = []
        out.extend(_map_tensors(v, fn, memo) for v in obj)
    elif type(obj) is tuple:
        out = tuple(_map_tensors(v, fn, memo) for v in obj)
    else:
        return obj
    memo[id(obj)] = out
    return out


def _check_extent(tensor):
    """A tensor must lie inside its storage (or storage view)."""
    root = tensor.storage
    size = root.numel
    if root.view is not None:
        view_offset, size = root.view
        if view_offset + size > root.numel:
            raise _Malformed(f"storage view of {root.key} reaches past the storage")
    if 0 in tensor.shape:
        return
    last = tensor.offset + sum(
        (n - 1) * s for n, s in zip(tensor.shape, tensor.stride, strict=True)
    )
    if last >= size:
        raise _Malformed(
            f"tensor of shape {brief(tensor.shape)} reaches element {last} of a "
            f"storage with {size}"
        )


def _checked_roots(top, file_size):
    """The root storages the tensors of ``top`` use, checked before any is read.

    Every tensor lies inside its storage, the storages fit in the file's
    ``file_size`` bytes and the tensors together hold at most
    ``MAX_DECODE_FACTOR`` times that (views may share a storage).
    """
    tensors = {}
    _map_tensors(top, lambda t: tensors.setdefault(id(t), t))
    roots = {}
    for tensor in tensors.values():
        _check_extent(tensor)
        roots[tensor.storage.key] = tensor.storage._replace(view=None)
    stored = sum(ref.numel * ref.stype.itemsize for ref in roots.values())
    if stored > file_size:
        raise _Malformed(
            f"truncated, file ends in storage data (the storages declare {stored} "
            f"bytes, the file has {file_size})"
        )
    decoded = sum(_nbytes(t) for t in tensors.values())
    if decoded > MAX_DECODE_FACTOR * file_size:
        raise _Malformed(
            f"its tensors hold {decoded} bytes, more than {MAX_DECODE_FACTOR} times "
            f"the file's {file_size} (overlapping or repeated views)"
        )
    return roots


def _nbytes(tensor):
    """Bytes of a tensor's elements on disk."""
    return math.prod(tensor.shape) * tensor.storage.stype.itemsize


def _file_size(file):
    """Size in bytes of an open file."""
    return os.fstat(file.fileno()).st_size


def _load_zip(file, select):
    """Unpickle a zip-format checkpoint and load the storages ``select`` keeps."""
    with zipfile.ZipFile(file) as archive:
        pkl_name = _find_data_pkl(archive)
        prefix = pkl_name[: -len("data.pkl")]
        byteorder = _zip_byteorder(archive, prefix)
        with _open_record(archive, pkl_name, MAX_PICKLE_BYTES) as pkl:
            top = select(_RestrictedUnpickler(pkl).load())
        storages = {
            key: _decode_storage(
                _read_zip_record(archive, f"{prefix}data/{key}", ref),
                ref,
                byteorder,
            )
            for key, ref in _checked_roots(top, _file_size(file)).items()
        }
    return _map_tensors(top, lambda t: _materialize(t, storages))


def _find_data_pkl(archive):
    """Name of the shallowest ``data.pkl`` member (the top folder name varies)."""
    names = [
        n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")
    ]
    if not names:
        raise _Malformed("zip archive has no data.pkl")
    return min(names, key=lambda n: n.count("/"))


def _zip_byteorder(archive, prefix):
    """``'<'`` or ``'>'`` from the ``byteorder`` record (absent: little-endian)."""
    try:
        record = _open_record(archive, f"{prefix}byteorder", _MAX_BYTEORDER_BYTES)
    except KeyError:
        return "<"
    with record:
        order = record.read().decode("ascii", "replace")
    if order not in ("little", "big"):
        raise _Malformed(f"unknown byteorder record {order!r}")
    return "<" if order == "little" else ">"


def _open_record(archive, name, limit):
    """A zip member opened for reading; refused if it unpacks to over ``limit``
    bytes.  ``KeyError`` if absent."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise _Malformed(f"{name} holds {info.file_size} bytes, more than {limit}")
    return archive.open(info)


def _read_zip_record(archive, name, ref):
    """Bytes of one storage record, which must hold ``ref.numel`` elements in the
    file itself (stored, as torch writes them: a compressed record could unpack
    to any size)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _Malformed(f"storage record {name} is missing") from None
    needed = ref.numel * ref.stype.itemsize
    present = min(info.file_size, info.compress_size)
    if present < needed:
        raise _Malformed(f"storage record {name} has {present} bytes, needs {needed}")
    with archive.open(info) as record:
        return record.read(needed)


def _load_legacy(file, select):
    """Unpickle a legacy-format checkpoint and load the storages ``select`` keeps."""
    unpickler = _RestrictedUnpickler(file)
    if unpickler.load() != _LEGACY_MAGIC:
        raise _Malformed("wrong magic number, not a torch checkpoint")
    if unpickler.load() != _LEGACY_PROTOCOL:
        raise _Malformed("unsupported legacy protocol version")
    unpickler.load()  # system info: legacy storages are always little-endian
    top = select(unpickler.load())
    keys = unpickler.load()
    if type(keys) is not list:
        raise _Malformed("storage key list is missing")
    wanted = _checked_roots(top, _file_size(file))
    storages = {}
    for key in map(_as_str, keys):
        if key not in unpickler.storages:
            raise _Malformed(f"data for unknown storage {key}")
        raw = _read_legacy_storage(file, unpickler.storages[key], key in wanted)
        if raw is not None:
            storages[key] = _decode_storage(raw, unpickler.storages[key], "<")
    if missing := sorted(wanted.keys() - storages.keys()):
        raise _Malformed(f"no data for storages {brief(missing)}")
    return _map_tensors(top, lambda t: _materialize(t, storages))


def _read_legacy_storage(file, ref, keep):
    """Read (``keep``) or skip one legacy storage: int64 count, then the bytes."""
    header = file.read(8)
    if len(header) < 8:
        raise _Malformed(f"truncated, file ends in storage {ref.key}")
    (numel,) = struct.unpack("<q", header)
    if numel != ref.numel:
        raise _Malformed(
            f"storage {ref.key} holds {numel} elements, expected {ref.numel}"
        )
    nbytes = numel * ref.stype.itemsize
    if file.tell() + nbytes > _file_size(file):
        raise _Malformed(f"truncated, file ends in storage {ref.key}")
    if not keep:
        file.seek(nbytes, os.SEEK_CUR)
        return None
    return file.read(nbytes)


def read_torch_checkpoint(path):
    """Read a ``torch.save`` file (zip or legacy format) whose top level is a dict.

    Tensors become C-contiguous numpy arrays; dicts (``OrderedDict`` kept),
    lists, tuples and scalars such as ``epoch`` pass through.  Every failure is
    a ``CheckpointError`` naming the file.
    """
    return _read(path, _require_dict)


def load_state_dicts(path, names=MODEL_NAMES, optional=()):
    """The model state dicts of a FOMM checkpoint, as name -> array dicts.

    Every section in ``names`` must be present; those in ``optional`` are
    returned only when present.  Everything else in the file (``epoch``,
    ``optimizer_*`` states) is skipped without being decoded.
    """

    def select(top):
        """The wanted sections, each checked to be a name -> tensor dict."""
        top = _require_dict(top)
        if missing := [name for name in names if name not in top]:
            raise _Malformed(
                f"missing model sections {missing} "
                f"(the file has {brief(sorted(map(str, top)))})"
            )
        wanted = [*names, *(name for name in optional if name in top)]
        return {name: _require_state_dict(top[name], name) for name in wanted}

    return _read(path, select)


def _require_dict(top):
    """The top-level object, which must be a dict."""
    if not isinstance(top, dict):
        raise _Malformed(f"top-level object is a {type(top).__name__}, not a dict")
    return top


def _require_state_dict(state, name):
    """A plain-dict copy of ``state``, which must map str names to tensors."""
    if not isinstance(state, dict):
        raise _Malformed(f"section {name} is not a state dict")
    if bad := [key for key in state if type(key) is not str]:
        raise _Malformed(f"section {name} has keys that are not str {brief(bad)}")
    if bad := [
        key for key, value in state.items() if not isinstance(value, _TensorRef)
    ]:
        raise _Malformed(f"section {name} has non-tensor entries {brief(bad)}")
    return dict(state)


def _read(path, select):
    """Open ``path``, pick the format loader, and turn every failure into one error.

    ``select(top)`` picks what to keep from the unpickled top level before any
    storage is decoded.  Malformed pickles and archives can raise nearly any
    exception type, hence the broad conversion at this boundary.
    """
    label = str(path)
    try:
        with Path(path).open("rb") as file:
            loader = _pick_loader(file.read(len(_ZIP_SIGNATURE)))
            file.seek(0)
            return loader(file, select)
    except _Malformed as exc:
        problem = str(exc)
    except FileNotFoundError:
        problem = "no such file"
    except OSError as exc:
        problem = f"cannot read ({exc.strerror})"
    except zipfile.BadZipFile as exc:
        problem = f"truncated or corrupt zip archive ({_short(exc)})"
    except (EOFError, pickle.UnpicklingError) as exc:
        problem = f"truncated or corrupt pickle ({_short(exc)})"
    except Exception as exc:  # malformed input can raise any type
        problem = f"corrupt checkpoint ({type(exc).__name__}: {_short(exc)})"
    raise CheckpointError(f"{label}: {problem}")


def _short(exc):
    """An exception's message on one line, at most 200 characters."""
    return one_line(exc)[:200]


def _pick_loader(head):
    """The loader for a file starting with ``head``: zip or legacy pickle."""
    if not head:
        raise _Malformed("empty file")
    if head.startswith(_ZIP_SIGNATURE):
        return _load_zip
    if head.startswith(_PICKLE_PROTO_OPCODE):
        return _load_legacy
    raise _Malformed("not a PyTorch checkpoint (neither a zip archive nor a pickle)")
