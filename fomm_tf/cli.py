"""The one convention of every command-line tool (``fomm_tf`` and ``export``).

- Flags are defined in the module's ``define_flags()``, called only under
  ``if __name__ == "__main__"`` (importing a command never defines flags, so
  commands and tests never clash).
- A command takes no positional arguments unless it says so
  (:func:`no_arguments`).
- Every ``fomm_tf`` error, bad input (``ValueError``) and file-system error ends
  the command with one line ``[program: ]error: <message>`` on stderr and exit
  status 1, never a traceback (:func:`errors_as_exit`).
"""

import contextlib
import sys

from absl import app

from fomm_tf.errors import FommError, one_line

COMMAND_ERRORS = (FommError, ValueError, OSError)


@contextlib.contextmanager
def errors_as_exit(program=None, extra=()):
    """Turn ``COMMAND_ERRORS`` (and the ``extra`` types) into a one-line exit."""
    try:
        yield
    except (*COMMAND_ERRORS, *extra) as error:
        prefix = f"{program}: " if program else ""
        sys.exit(f"{prefix}error: {one_line(error)}")


def no_arguments(argv):
    """absl usage error for positional arguments after the program name."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
