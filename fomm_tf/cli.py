"""The one convention of every command-line tool (``fomm_tf`` and ``export``).

- Flags are defined in the module's ``define_flags()``, called only under
  ``if __name__ == "__main__"`` (importing a command never defines flags, so
  commands and tests never clash).
- Every numeric flag has a checked range: integers through absl's
  ``lower_bound``/``upper_bound``, floats through :func:`define_float` (which
  also refuses NaN).
- A command takes no positional arguments unless it says so
  (:func:`no_arguments`).
- A bad flag value, every ``fomm_tf`` error, bad input (``ValueError``) and
  file-system error end the command with one line ``[program: ]error:
  <message>`` on stderr and exit status 1, never a traceback or absl's usage
  text (:func:`run`, :func:`errors_as_exit`).
"""

import contextlib
import math
import sys

from absl import app, flags

from fomm_tf.errors import FommError, one_line

COMMAND_ERRORS = (FommError, ValueError, OSError)
SEED_RANGE = (0, 2**32 - 1)


@contextlib.contextmanager
def errors_as_exit(program=None, extra=()):
    """Turn ``COMMAND_ERRORS`` (and the ``extra`` types) into a one-line exit."""
    try:
        yield
    except (*COMMAND_ERRORS, *extra) as error:
        prefix = f"{program}: " if program else ""
        sys.exit(f"{prefix}error: {one_line(error)}")


def run(main):
    """``app.run(main)`` with a bad flag value printed as one ``error:`` line."""
    app.run(main, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's flag parsing; a flag error exits with one line and status 1."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        sys.exit(f"error: {one_line(error)}")


def no_arguments(argv):
    """Exit with one ``error:`` line if positional arguments follow the program."""
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments: {' '.join(argv[1:])}")


def optional_bool(value):
    """A ``true``/``false`` enum flag's value as True/False (None stays None)."""
    return None if value is None else value == "true"


def define_float(name, default, help, bounds, flag_values=flags.FLAGS):
    """A float flag whose value lies in ``bounds`` (inclusive); NaN is refused."""
    low, high = bounds
    flags.DEFINE_float(
        name,
        default,
        help,
        lower_bound=low,
        upper_bound=high,
        flag_values=flag_values,
    )
    flags.register_validator(
        name,
        lambda value: value is None or not math.isnan(value),
        message=f"--{name} must be a number",
        flag_values=flag_values,
    )
