"""Builtin-ops-only check of ``.tflite`` files (no Flex / SELECT_TF_OPS, no custom).

CLI: ``python -m export.builtin_check model.tflite [...]`` prints each file's ops
and exits non-zero when one holds a Flex or custom op.
"""

import sys

from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

from fomm_tf.cli import run
from fomm_tf.errors import ExportError

_OP_NAMES = {
    code: name
    for name, code in vars(schema.BuiltinOperator).items()
    if not name.startswith("_")
}


def model_ops(model_bytes):
    """Sorted op names of a model; custom ops as ``CUSTOM:<code>``."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    names = set()
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            names.add(f"CUSTOM:{_text(code.customCode)}")
        else:
            names.add(_OP_NAMES.get(builtin, f"UNKNOWN_{builtin}"))
    return sorted(names)


def non_builtin_ops(model_bytes):
    """Ops a stock LiteRT runtime cannot run with builtin kernels (Flex, custom)."""
    return [op for op in model_ops(model_bytes) if op.startswith("CUSTOM:")]


def check_builtin_only(model_bytes, name="model"):
    """Raise ExportError naming every Flex / custom op of ``model_bytes``."""
    bad = non_builtin_ops(model_bytes)
    if bad:
        raise ExportError(f"{name} needs non-builtin ops: {', '.join(bad)}")


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main(argv):
    if len(argv) < 2:
        sys.exit("error: usage: python -m export.builtin_check FILE.tflite ...")
    failed = False
    for path in argv[1:]:
        try:
            with open(path, "rb") as handle:
                content = handle.read()
            print(f"{path}: {' '.join(model_ops(content))}")
            check_builtin_only(content, path)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    run(main)
