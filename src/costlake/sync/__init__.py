"""Syncing billing sources: planning which months to reload, running a sync, scheduling syncs."""
