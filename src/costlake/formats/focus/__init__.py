"""FOCUS exports from any provider (FOCUS 1.0-1.3)."""
