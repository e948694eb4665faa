"""Billing-source readers: one module per export format, each yielding record batches in the canonical schema."""
