"""Output safety shared by every command: what may be written, and how.

Rule: a command never deletes or replaces anything it did not create, except a
regular file the user named as the output, and only after the new one is
complete. So an output that resolves to one of the inputs is refused, and
temporary siblings are named ``.<name>.<tag>-<pid>-<random>`` so that the
next run can remove the leftovers of a killed run (and only those: a sibling
whose process is still alive is left alone).
"""

import ctypes
import ctypes.util
import os
import shutil
import tempfile

from fomm_tf.errors import InputError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def same_file(first, second):
    """True when two paths name the same file or folder (links resolved)."""
    first, second = os.fspath(first), os.fspath(second)
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


def check_not_input(output, inputs, what="output"):
    """InputError when ``output`` resolves to one of ``inputs`` (name, path)."""
    for name, path in inputs:
        if path is not None and same_file(output, path):
            raise InputError(f"{what} {output} is the same file as {name} {path}")


def temp_prefix(path, tag):
    """``.<name>.<tag>-<pid>-`` for a temporary sibling of ``path``."""
    return f".{os.path.basename(os.path.abspath(path))}.{tag}-{os.getpid()}-"


def check_replaceable(path, marker, error=InputError):
    """``error`` unless ``path`` is absent, an empty folder, or a folder this
    program wrote (it holds ``marker``): a folder output never replaces
    anything else."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        raise error(f"{path}: exists and is not a folder; refusing to replace it")
    if os.listdir(path) and not os.path.exists(os.path.join(path, marker)):
        raise error(
            f"{path}: refusing to replace a non-empty folder that holds no {marker} "
            "(remove it or choose another output)"
        )


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def stale_siblings(path, tag):
    """Temporary siblings ``.<name>.<tag>-<pid>-*`` of ``path`` whose process
    has ended (left by a killed run)."""
    folder, name = os.path.split(os.path.abspath(path))
    prefix = f".{name}.{tag}-"
    stale = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return stale
    for entry in sorted(entries):
        if not entry.startswith(prefix):
            continue
        pid = entry[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            stale.append(os.path.join(folder, entry))
    return stale


def remove_path(path):
    """Remove a file, link or folder tree (no error if it is gone)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def remove_stale(path, tag):
    """Remove the stale ``tag`` leftovers of ``path`` (see :func:`stale_siblings`)."""
    for stale in stale_siblings(path, tag):
        remove_path(stale)


def make_temp_dir(path, tag):
    """A new hidden temporary folder beside ``path`` (stale ones removed first),
    with the permissions a new folder gets (``mkdtemp`` makes 0700)."""
    remove_stale(path, tag)
    folder = os.path.dirname(os.path.abspath(path))
    temp = tempfile.mkdtemp(prefix=temp_prefix(path, tag), dir=folder)
    os.chmod(temp, 0o777 & ~_umask())
    return temp


def make_temp_file(path, tag, suffix=""):
    """A new empty hidden temporary file beside ``path`` (stale ones removed
    first), with the permissions a new file gets (``mkstemp`` makes 0600)."""
    remove_stale(path, tag)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(
        prefix=temp_prefix(path, tag), suffix=suffix, dir=folder
    )
    os.close(handle)
    os.chmod(temp, 0o666 & ~_umask())
    return temp


def _umask():
    """The process's file mode creation mask."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def exchange(first, second):
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``);
    False when the system cannot, and nothing was changed."""
    name = ctypes.util.find_library("c")
    try:
        renameat2 = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(
        _AT_FDCWD,
        os.fsencode(first),
        _AT_FDCWD,
        os.fsencode(second),
        _RENAME_EXCHANGE,
    )
    return result == 0
