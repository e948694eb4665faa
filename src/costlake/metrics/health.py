"""Metric pulls in data health, next to the billing sources."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from costlake.catalog import Catalog
from costlake.catalog.metric_pulls import tenant_pulls
from costlake.catalog.metrics import latest_days
from costlake.catalog.models import utcnow
from costlake.query.health import is_stale


def metric_pull_health(catalog: Catalog, tenant_id: str, interval: timedelta) -> list[dict[str, Any]]:
    """Per pull: its last outcome, the latest day it holds, and whether it is stale (no success in two intervals)."""
    latest = latest_days(catalog, tenant_id)
    now = utcnow()
    return [
        {
            "metric": name,
            "kind": pull.kind,
            "enabled": pull.enabled,
            "status": pull.last_status,
            "last_success_at": pull.last_success_at,
            "last_error": pull.last_error,
            "latest_day": latest.get(pull.metric_id),
            "stale": is_stale(pull.last_success_at, interval, now),
        }
        for pull, name in tenant_pulls(catalog, tenant_id)
    ]
