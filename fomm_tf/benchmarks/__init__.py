"""Benchmarks: commands that print a table and write JSON (``python -m ...``)."""

import json
import time


def report(results, start, print_table, json_path=None):
    """Add the wall time since ``start``, print the table, write ``json_path``."""
    results["wall_seconds"] = round(time.time() - start, 1)
    print_table(results)
    if json_path:
        with open(json_path, "w") as file:
            json.dump(results, file, indent=2)
