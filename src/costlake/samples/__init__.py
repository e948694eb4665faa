"""Deterministic FOCUS sample data for demos, tests and benchmarks."""

from costlake.samples.generator import FOCUS_COLUMNS, generate_focus_export

__all__ = ["FOCUS_COLUMNS", "generate_focus_export"]
