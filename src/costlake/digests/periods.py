"""Digest periods in UTC: a weekly digest covers the last ISO week (Monday to Sunday) and is due from Monday; a
monthly one covers the last calendar month and is due from the 2nd."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from costlake.months import add_months, month_of


@dataclass(frozen=True)
class Period:
    key: str  # "2026-W48" or "2026-11": sortable within one frequency
    start: date
    end: date  # exclusive

    @property
    def previous(self) -> Period:
        if self.key[4:6] == "-W":
            return week_of(self.start - timedelta(days=7))
        first = date.fromisoformat(add_months(month_of(self.start), -1) + "-01")
        return Period(month_of(first), first, self.start)

    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start.isoformat()} to {last.isoformat()}"


def week_of(monday: date) -> Period:
    year, week, _ = monday.isocalendar()
    return Period(f"{year}-W{week:02d}", monday, monday + timedelta(days=7))


def latest_period(frequency: str, now: datetime) -> Period:
    """The latest period whose digest is due at `now`."""
    today = now.astimezone(UTC).date()
    if frequency == "weekly":
        return week_of(today - timedelta(days=today.weekday() + 7))
    this_month = month_of(today)
    ended = add_months(this_month, -1 if today.day >= 2 else -2)
    start = date.fromisoformat(ended + "-01")
    return Period(ended, start, date.fromisoformat(add_months(ended, 1) + "-01"))
