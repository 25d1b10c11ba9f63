"""The one error hierarchy of fomm-tf and the one way to print an error.

Every problem fomm-tf reports is a :class:`FommError`. Bad input (a file, a
flag, a config value) is an :class:`InputError`, which is also a ``ValueError``
so that callers written against the standard library keep working. A command
prints any of them as one line (:func:`one_line`) and exits with status 1.
A value from an input is shown in a message through :func:`brief`.
"""

import reprlib

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 3, 40, 40


class FommError(Exception):
    """Base of every error fomm-tf raises on purpose."""


class InputError(FommError, ValueError):
    """An input that cannot be used; the message names it."""


class ConfigError(InputError):
    """A configuration file or mapping that cannot be turned into a FommConfig."""


class CheckpointError(InputError):
    """A checkpoint file is missing, malformed, truncated or unsafe."""


class CheckpointMismatchError(InputError):
    """A state dict that does not fit the models built from the config."""


class MediaError(InputError):
    """An image or video that cannot be read or written."""


class VideoReadError(MediaError):
    """A dataset video that cannot be read; the message starts with its path."""


class ExportError(InputError):
    """Bad exporter input: unknown mode, missing calibration data, bad paths, or
    an export directory that cannot be run."""


class MissingExtraError(FommError, ImportError):
    """A feature needs an optional extra that is not installed; the message
    names the ``pip install`` that adds it."""


class NonFiniteLossError(FommError, RuntimeError):
    """A loss or gradient became NaN/inf; the last good checkpoint is kept."""


def one_line(error):
    """An exception as a single line: ``file: reason`` for an ``OSError`` with a
    file name, else its message with the whitespace collapsed (its type name
    when the message is empty)."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__


def brief(value):
    """``repr(value)`` in at most 200 characters, in bounded time for any value
    (a crafted input can nest shared containers exponentially deep)."""
    return _BRIEF.repr(value)[:200]
