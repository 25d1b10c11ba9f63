"""Benchmarks: commands that print a table and write JSON (``python -m ...``)."""

import json
import os
import tempfile
import time
from pathlib import Path


def write_json(path, result):
    """Write ``result`` atomically (temp file in the same folder, then replace)."""
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(result, stream, indent=2)
    os.replace(temp, path)


def report(results, start, print_table, json_path=None):
    """Add the wall time since ``start``, print the table, write ``json_path``."""
    results["wall_seconds"] = round(time.time() - start, 1)
    print_table(results)
    if json_path:
        write_json(json_path, results)
