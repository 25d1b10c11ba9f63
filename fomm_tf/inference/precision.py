"""The float precision the Keras backend decodes frames in, and whether this
CPU runs it fast (no TensorFlow import: commands check before loading)."""

PRECISIONS = ("float32", "bfloat16")
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # oneDNN's bfloat16 kernels


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU feature flags Linux lists (empty where it lists none)."""
    try:
        with open(cpuinfo) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def check_precision(precision):
    """ValueError unless ``precision`` is one of ``PRECISIONS``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")


def has_bfloat16_instructions(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU lists one of ``BFLOAT16_CPU_FLAGS``."""
    return bool(cpu_flags(cpuinfo) & set(BFLOAT16_CPU_FLAGS))


def check_fast_here(precision, cpuinfo="/proc/cpuinfo"):
    """As ``check_precision``; for bfloat16 also a ValueError unless this CPU
    has bfloat16 instructions (without them oneDNN emulates bfloat16, slower
    than float32: the command refuses rather than surprise)."""
    check_precision(precision)
    if precision == "bfloat16" and not has_bfloat16_instructions(cpuinfo):
        raise ValueError(
            "--precision bfloat16 needs a CPU with bfloat16 instructions "
            f"({' or '.join(BFLOAT16_CPU_FLAGS)} in {cpuinfo}); use float32"
        )
