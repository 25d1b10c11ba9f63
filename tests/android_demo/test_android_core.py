"""Android demo (issue 11): the app's plain-Java core (model card, bitmap <-> tensor,
per-frame loop, source caching, timing) compiled with javac and its JUnit tests run
on the JVM against goldens that the Python LiteRT runner writes now from the
bundled model's export."""

import importlib.util
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.harness import REPO
from web_demo.reference import DEFAULT_CHECKPOINT, export_float32

ANDROID = REPO / "android_demo"
CORE = ANDROID / "app" / "src" / "main" / "java" / "com" / "fommtf" / "core"
TESTS = ANDROID / "app" / "src" / "test" / "java" / "com" / "fommtf" / "core"
JARS = ["/usr/share/java/junit4.jar", "/usr/share/java/hamcrest-core.jar"]
JAVAC, JAVA = shutil.which("javac"), shutil.which("java")
JUNIT_CLASSES = ["JsonTest", "ModelCardTest", "ImageTensorsTest", "AnimatorTest"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        JAVAC is None or JAVA is None or not all(map(os.path.isfile, JARS)),
        reason="needs javac and JUnit 4 (.ci/run installs default-jdk-headless junit4)",
    ),
]


def _golden_writer():
    path = ANDROID / "tools" / "write_golden.py"
    spec = importlib.util.spec_from_file_location("write_golden", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """Goldens of the bundled model as it is now."""
    export = export_float32(
        tmp_path_factory.mktemp("android_export"), DEFAULT_CHECKPOINT
    )
    out = tmp_path_factory.mktemp("golden")
    _golden_writer().write_golden(export, out, frames=4)
    return out


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """The core and its tests compiled with javac (Java 17, -Werror)."""
    out = tmp_path_factory.mktemp("classes")
    sources = sorted(map(str, [*CORE.glob("*.java"), *TESTS.glob("*.java")]))
    command = [JAVAC, "-Xlint:all", "-Werror", "--release", "17", "-d", str(out),
               "-cp", os.pathsep.join(JARS), *sources]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def junit(classes, golden_dir):
    """Run the JUnit tests; returns (exit code, output)."""
    command = [JAVA, f"-Dfomm.golden={golden_dir}", "-Dfomm.golden.required=true",
               "-cp", os.pathsep.join([str(classes), *JARS]),
               "org.junit.runner.JUnitCore",
               *(f"com.fommtf.core.{name}" for name in JUNIT_CLASSES)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_core_has_no_android_imports():
    for source in CORE.glob("*.java"):
        imports = re.findall(r"^import\s+([\w.]+)", source.read_text(), re.M)
        assert all(name.startswith("java.") for name in imports), (source, imports)


def test_jvm_tests_pass_against_python_goldens(classes, golden):
    code, output = junit(classes, golden)
    assert code == 0, output
    ran = re.search(r"OK \((\d+) tests\)", output)
    assert ran and int(ran.group(1)) == 11, output
    index = json.loads((golden / "golden.json").read_text())
    signatures = [call["signature"] for call in index["calls"]]
    assert signatures.count("keypoint_detector") == 1 + 4
    assert signatures.count("frame_generator") == 4
    assert signatures.count("source_encoder") == 1


def test_jvm_tests_fail_on_a_perturbed_golden(classes, golden, tmp_path):
    """The guard works: one source pixel off by one level fails the tensor check
    and both loop checks (the keypoint detector's input is no longer Python's)."""
    bad = tmp_path / "golden"
    shutil.copytree(golden, bad)
    index = json.loads((bad / "golden.json").read_text())
    path = bad / index["tensors"][index["source_argb"]]["file"]
    pixels = np.fromfile(path, np.int32)
    pixels[100] ^= 1  # lowest bit of blue
    pixels.tofile(path)
    code, output = junit(classes, bad)
    assert code != 0
    assert "goldenPixelsGivePythonsTensors(com.fommtf.core.ImageTensorsTest)" in output
    assert "keypoint_detector got inputs that no Python call had" in output
    assert re.search(r"Tests run: 11,\s+Failures: 3", output), output
