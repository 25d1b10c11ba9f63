"""Atomic directory output: a model appears complete or not at all."""

import contextlib
import os
import shutil
from pathlib import Path

from fomm_tf import output_paths
from fomm_tf.errors import ExportError
from fomm_tf.output_paths import (
    exchange,
    make_temp_dir,
    remove_path,
    remove_stale,
    stale_siblings,
)


def check_writable_parent(path):
    """Create ``path``'s parent if needed; ExportError when it is not writable."""
    parent = Path(path).resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create output directory {parent}: {error}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"output directory {parent} is not writable")


def check_replaceable(path, marker):
    """``output_paths.check_replaceable`` for an export: an ``ExportError``."""
    output_paths.check_replaceable(path, marker, ExportError)


def recover(path):
    """Undo what a killed run left beside ``path``: restore a moved-away old
    output when ``path`` is missing, then remove stale temporary folders."""
    path = Path(path)
    for old in stale_siblings(path, "old"):
        previous = Path(old) / path.name
        if not os.path.lexists(path) and os.path.lexists(previous):
            os.replace(previous, path)
        remove_path(old)
    remove_stale(path, "tmp")


@contextlib.contextmanager
def atomic_directory(path, marker):
    """Yield a temporary sibling directory that replaces ``path`` on success.

    ``path`` must be absent, empty or an earlier export (holding ``marker``).
    On any exception (including KeyboardInterrupt) the temporary directory is
    removed and an existing ``path`` is left untouched. Leftovers of a killed
    run are cleaned (or an old output restored) first, see :func:`recover`.
    """
    path = Path(path).resolve()
    check_writable_parent(path)
    recover(path)
    check_replaceable(path, marker)
    staging = Path(make_temp_dir(path, "tmp"))
    staging.chmod(0o755)
    try:
        yield staging
        _swap_in(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging, path):
    """Put ``staging`` at ``path``; the visible path holds the old or the new
    output at every instant where the system allows it.

    Absent or empty ``path``: one ``rename``. An earlier export: an atomic
    exchange (Linux ``renameat2``), then the old one (now in ``staging``) is
    removed. Elsewhere two renames: the old output is moved into a
    ``.<name>.old-<pid>-*`` folder first; a kill between the renames leaves it
    there, and the next run puts it back (:func:`recover`).
    """
    if not path.exists() or not any(path.iterdir()):
        os.replace(staging, path)
        return
    if exchange(staging, path):
        shutil.rmtree(staging, ignore_errors=True)
        return
    retired = Path(make_temp_dir(path, "old"))
    os.replace(path, retired / path.name)
    os.replace(staging, path)
    shutil.rmtree(retired, ignore_errors=True)
