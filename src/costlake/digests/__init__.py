"""Scheduled digests: weekly and monthly summaries of a view or dashboard, by email and Slack."""
