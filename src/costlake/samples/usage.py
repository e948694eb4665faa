"""The demo's usage metric and engineering events: daily API requests per team (weekday peaks, steady growth) and a
few deploys and an incident, deterministic for a seed, so the explorer shows a unit cost line with markers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from costlake.samples.catalog import APPS

REQUEST_METRIC = {"name": "requests", "unit": "requests", "aggregation": "sum", "description": "API requests served per day (demo data)"}
_BASE_REQUESTS = {"payments": 4_000_000, "discovery": 9_000_000, "ml": 1_500_000, "data": 600_000, "platform": 12_000_000, "mobile": 5_000_000}


def daily_requests(first: date, last: date, seed: int = 42) -> list[dict[str, Any]]:
    """One value per team and day in [first, last], as the metrics API takes them."""
    rng = random.Random(seed)
    values = []
    day = first
    while day <= last:
        growth = 1 + 0.004 * (day - first).days
        weekday = 0.7 if day.weekday() >= 5 else 1.0
        for team in sorted(set(APPS.values())):
            amount = int(_BASE_REQUESTS[team] * growth * weekday * rng.uniform(0.9, 1.1))
            values.append({"date": day.isoformat(), "value": str(amount), "labels": {"team": team}})
        day += timedelta(days=1)
    return values


def demo_events(first: date, last: date, seed: int = 42) -> list[dict[str, Any]]:
    """About one deploy a week per busy team, and one incident, between first and last."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    day, version = first + timedelta(days=2), 40
    while day <= last:
        app = rng.choice(["checkout", "search", "recommendations", "auth"])
        version += 1
        at = datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
        events.append({
            "title": f"Deploy {app} v{version}", "timestamp": at.isoformat(), "category": "deploy", "source": "demo",
            "labels": {"service": app, "team": APPS[app], "environment": "production"},
        })
        day += timedelta(days=rng.randint(6, 9))
    incident_day = last - timedelta(days=10)
    if incident_day > first:
        start = datetime(incident_day.year, incident_day.month, incident_day.day, 3, 10, tzinfo=UTC)
        events.append({
            "title": "Incident: search latency", "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(),
            "category": "incident", "source": "demo", "labels": {"service": "search", "team": "discovery"},
        })
    return events
