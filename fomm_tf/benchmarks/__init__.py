"""Benchmarks: commands that print a table and write JSON (``python -m ...``)."""

import json
import os
import time

from fomm_tf import output_paths


def write_json(path, result):
    """Write ``result`` atomically: a temporary sibling with the permissions a
    new file gets (``fomm_tf.output_paths``), then a rename over ``path``."""
    temp = output_paths.make_temp_file(path, "partial")
    try:
        with open(temp, "w", encoding="utf-8") as stream:
            json.dump(result, stream, indent=2)
        os.replace(temp, path)
    except BaseException:
        output_paths.remove_path(temp)
        raise


def report(results, start, print_table, json_path=None):
    """Add the wall time since ``start``, print the table, write ``json_path``."""
    results["wall_seconds"] = round(time.time() - start, 1)
    print_table(results)
    if json_path:
        write_json(json_path, results)
