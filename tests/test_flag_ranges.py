"""Every numeric flag of every command has a checked range; a bad value, or a
malformed ``.keras`` given to a command, is one ``error:`` line and exit 1.

The flags are collected in a child process (each command's ``define_flags()``
writes into absl's global flags, so the commands cannot share one process).
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.bounded import python_module, run_measured
from tests.harness import REPO
from tests.test_crafted_inputs import MAX_PEAK_MIB, MAX_SECONDS, keras_cases

COMMANDS = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for folder in ("fomm_tf", "export")
    for path in (REPO / folder).rglob("*.py")
    if "def define_flags(" in path.read_text()
)

# For each command module: its numeric flags with their bounds, and whether
# absl refuses the value below, above and (floats) NaN.
COLLECT = """
import importlib, json, sys
from absl import flags
from absl.flags import _argument_parser as parsers
FLAGS = flags.FLAGS
report = {}
for module in json.loads(sys.argv[1]):
    command = importlib.import_module(module)
    before = set(FLAGS)
    command.define_flags()
    for name in sorted(set(FLAGS) - before):
        flag = FLAGS[name]
        if not isinstance(flag.parser, (parsers.IntegerParser, parsers.FloatParser)):
            continue
        low, high = flag.parser.lower_bound, flag.parser.upper_bound
        probes = [] if low is None or high is None else [low - 1, high + 1]
        if isinstance(flag.parser, parsers.FloatParser):
            probes.append("nan")
        refused = []
        for value in probes:
            try:
                FLAGS([module, f"--{name}={value}"])
            except flags.IllegalFlagValueError:
                refused.append(str(value))
            FLAGS.unparse_flags()
        report[f"{module} --{name}"] = [low, high, len(refused) == len(probes)]
    for name in set(FLAGS) - before:
        delattr(FLAGS, name)
print(json.dumps(report))
"""


def test_every_numeric_flag_has_a_checked_range():
    assert len(COMMANDS) >= 13, COMMANDS
    measured = run_measured([sys.executable, "-c", COLLECT, json.dumps(COMMANDS)])
    assert measured.returncode == 0, measured.stderr[-3000:]
    report = json.loads(measured.stdout.splitlines()[-1])
    assert len(report) >= 30, report
    unbounded = {
        flag: (low, high, refused)
        for flag, (low, high, refused) in report.items()
        if low is None or high is None or not refused
    }
    assert not unbounded, unbounded
    for flag in (
        "fomm_tf.train --epochs",
        "fomm_tf.train --steps_per_epoch",
        "fomm_tf.train --batch_size",
        "fomm_tf.crop_video --detect_every",
        "fomm_tf.crop_video --increase",
        "fomm_tf.crop_video --image_size",
        "fomm_tf.animate --fps",
        "export.tflite --calibration_frames",
    ):
        assert flag in report, flag


def _bad_keras(folder):
    return keras_cases(folder)["config-a-list"][0]


def test_bad_values_and_files_are_one_line_errors(tmp_path):
    """The issue's examples through the real commands, in parallel."""
    bad_keras = _bad_keras(tmp_path)
    vox = REPO / "configs" / "vox-256.yaml"
    out = tmp_path / "out"
    runs = {
        "train --epochs -1": ["fomm_tf.train", f"--config={vox}",
                              f"--log_dir={out}", "--epochs=-1"],
        "tflite --calibration_frames": ["export.tflite", "--random_weights",
                                        f"--config={vox}", f"--out={out}",
                                        "--calibration_frames=100000000"],
        "animate bad .keras": ["fomm_tf.animate", f"--checkpoint={bad_keras}",
                               f"--result_video={out}.mp4"],
        "tflite bad .keras": ["export.tflite", f"--checkpoint={bad_keras}",
                              f"--out={out}"],
        "saved_model bad .keras": ["export.saved_model",
                                   f"--checkpoint={bad_keras}", f"--out={out}"],
    }  # fmt: skip
    with ThreadPoolExecutor(len(runs)) as pool:
        measured = pool.map(lambda args: python_module(*args), runs.values())
        results = dict(zip(runs, measured, strict=True))
    for name, result in results.items():
        errors = [line for line in result.stderr.splitlines() if "error: " in line]
        assert result.returncode == 1, (name, result)
        assert len(errors) == 1 and "Traceback" not in result.stderr, (name, result)
        assert result.peak_mib < MAX_PEAK_MIB, (name, result.peak_mib)
        # mostly the imports (TensorFlow), run 5 at a time: generous on 2 cores
        assert result.seconds < 12 * MAX_SECONDS, (name, result.seconds)
    assert "--calibration_frames" in results["tflite --calibration_frames"].stderr
    assert "not a fomm_tf .keras file" in results["animate bad .keras"].stderr
