"""The one error type of the exporters (a ValueError, printed as one line)."""


class ExportError(ValueError):
    """Bad exporter input: unknown mode, missing calibration data, bad paths."""
