"""Benchmarks' JSON: written atomically, with a new file's permissions."""

import json
import os

import pytest

from fomm_tf.benchmarks import write_json
from tests.harness import leftovers


def test_write_json_replaces_atomically_with_umask_permissions(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    previous = os.umask(0o022)
    try:
        write_json(path, {"ms": 1.5})
    finally:
        os.umask(previous)
    assert json.loads(path.read_text()) == {"ms": 1.5}
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_write_json_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    with pytest.raises(TypeError):
        write_json(path, {"not json": object()})
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []
