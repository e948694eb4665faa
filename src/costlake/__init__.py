"""costlake: cloud billing exports in FOCUS columns, in a Delta Lake table you own."""

__version__ = "0.1.0"
