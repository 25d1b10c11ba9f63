"""Run commands and loaders in child processes, measuring their time and peak memory.

Not a test module: the bounded-input tests import it. ``run_measured`` starts
a small wrapper interpreter that runs one command and reports the command's
exit status, output, wall time and peak RSS (``RUSAGE_CHILDREN`` of the wrapper,
whose only child is the command). ``call_each`` runs many loader calls in one
such child (one TensorFlow import for all of them) and returns, per call, the
exception it raised and its time.
"""

import dataclasses
import json
import subprocess
import sys

from tests.harness import REPO, child_environment

_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.monotonic()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, text=True,
                          timeout=float(sys.argv[1]))
    code, out, err = done.returncode, done.stdout, done.stderr
except subprocess.TimeoutExpired:
    code, out, err = "timeout", "", ""
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
json.dump({"returncode": code, "stdout": out, "stderr": err,
           "seconds": time.monotonic() - start, "peak_mib": peak / 1024}, sys.stdout)
"""

_CALLER = """
import importlib, json, sys, time
results = {}
for name, (target, args) in json.loads(sys.argv[1]).items():
    module, function = target.split(":")
    call = getattr(importlib.import_module(module), function)
    start = time.monotonic()
    try:
        call(*args)
        outcome = {"error": None, "message": ""}
    except Exception as error:
        outcome = {"error": type(error).__name__, "message": str(error)}
    results[name] = {**outcome, "seconds": time.monotonic() - start}
print(json.dumps(results))
"""


@dataclasses.dataclass(frozen=True)
class Measured:
    """What a child did: exit status ("timeout" if killed), output, time, memory."""

    returncode: int | str
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float


def run_measured(argv, timeout=300):
    """Run ``argv`` in a child (``harness.child_environment``)."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(timeout), *map(str, argv)],
        cwd=REPO,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Measured(**json.loads(done.stdout))


def python_module(module, *args, timeout=300):
    """``python -m module args`` in a measured child."""
    return run_measured([sys.executable, "-m", module, *args], timeout=timeout)


def call_each(calls, timeout=300):
    """Run ``{name: ("module:function", [args])}`` in one measured child.

    Returns ``({name: {"error", "message", "seconds"}}, Measured)``; ``error``
    is the raised exception's type name (None when the call returned).
    """
    measured = run_measured(
        [sys.executable, "-c", _CALLER, json.dumps(calls)], timeout=timeout
    )
    if measured.returncode != 0:
        raise AssertionError(
            f"loader child ended with {measured.returncode}: {measured.stderr[-2000:]}"
        )
    return json.loads(measured.stdout.splitlines()[-1]), measured
