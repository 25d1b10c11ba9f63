"""Atomic directory output: a model appears complete or not at all."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from fomm_tf.errors import ExportError


def check_writable_parent(path):
    """Create ``path``'s parent if needed; ExportError when it is not writable."""
    parent = Path(path).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create output directory {parent}: {error}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"output directory {parent} is not writable")


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary sibling directory that replaces ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary directory is
    removed and an existing ``path`` is left untouched.
    """
    path = Path(path).resolve()
    check_writable_parent(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    staging.chmod(0o755)
    try:
        yield staging
        _swap_in(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging, path):
    """Rename ``staging`` to ``path``; an old ``path`` is moved aside first."""
    if not path.exists():
        os.replace(staging, path)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    os.replace(path, retired / path.name)
    os.replace(staging, path)
    shutil.rmtree(retired, ignore_errors=True)
