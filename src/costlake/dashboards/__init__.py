"""Saved views (named explorer states) and dashboards (ordered widgets over them)."""
