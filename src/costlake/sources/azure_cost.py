"""Placeholder: filled in by the native-formats work (issue 3)."""
