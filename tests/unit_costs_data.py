"""A tenant with a few days of costs split by tag `team` and ServiceName, for metric and unit-cost tests."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import auth, sync_and_wait
from focus_files import focus_row, write_csv

# (day, team, service, cost): November 2026, two teams, two services.
COSTS = [
    ("2026-11-02", "payments", "Compute", "100.00"),
    ("2026-11-02", "payments", "Storage", "20.00"),
    ("2026-11-02", "search", "Compute", "50.00"),
    ("2026-11-03", "payments", "Compute", "110.00"),
    ("2026-11-03", "search", "Compute", "60.00"),
    ("2026-11-04", "payments", "Compute", "90.00"),
    ("2026-11-04", "search", "Compute", "40.00"),
]


def day_row(day: str, team: str, service: str, cost: str) -> dict[str, str]:
    return focus_row(
        "2026-11", cost, service=service, ChargePeriodStart=f"{day}T00:00:00Z", ChargePeriodEnd=f"{day}T23:00:00Z",
        Tags=json.dumps({"team": team}),
    )


def load_costs(client, settings, tmp_path: Path, tenant: str, token: str) -> str:  # type: ignore[no-untyped-def]
    """Write the export, let tenants read tmp_path, add and sync it; returns the source id."""
    settings.allowed_local_roots = [tmp_path]
    write_csv(tmp_path / "export" / "2026-11.csv", [day_row(*cost) for cost in COSTS])
    response = client.post(f"/api/v1/tenants/{tenant}/billing-sources", headers=auth(token), json={"provider": "aws", "source_uri": str(tmp_path / "export")})
    assert response.status_code == 201, response.text
    run = sync_and_wait(client, tenant, response.json()["id"], token, body={"from": "2026-11-01"})
    assert run["status"] == "succeeded", run
    return response.json()["id"]
