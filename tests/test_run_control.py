"""Cancelling a sync and watching its progress (issue 10): through the API, in any process sharing the catalog."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from conftest import auth, sync_and_wait, wait_for_run
from costlake.months import add_months, current_month
from costlake.samples.generator import generate_focus_export
from lake_reader import billed_by_month

NOW = current_month()


@pytest.fixture
def acme(make_tenant):  # type: ignore[no-untyped-def]
    return make_tenant("acme")


@pytest.fixture
def big_export(tmp_path: Path) -> Path:
    """Enough rows that a sync takes a few seconds: time to watch it and to cancel it."""
    folder = tmp_path / "big"
    generate_focus_export(folder, end_month=date.fromisoformat(f"{NOW}-01"), months=3, rows_per_month=120_000, rows_per_file=40_000)
    return folder


def _source(client, export: Path, name: str = "big") -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(export), "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def _staged_files(settings, tenant_id: str, run_id: str) -> list[Path]:  # type: ignore[no-untyped-def]
    return list(Path(settings.lake_root, tenant_id).rglob(f"part-{run_id}-*"))


def test_cancel_stops_the_run_removes_its_files_and_leaves_the_store(client, operator_client, acme, big_export, settings):  # type: ignore[no-untyped-def]
    source = _source(operator_client, big_export)
    first = sync_and_wait(operator_client, "acme", source["id"])
    assert first["status"] == "succeeded"
    before = billed_by_month(settings, acme.id)
    base = f"/api/v1/tenants/acme/billing-sources/{source['id']}"

    started = client.post(f"{base}/sync", headers=auth(acme.admin), json={"from": f"{add_months(NOW, -2)}-01"}).json()
    # members may not cancel; an unknown run is 404
    assert client.post(f"{base}/syncs/{started['id']}/cancel", headers=auth(acme.member)).status_code == 403
    assert client.post(f"{base}/syncs/nope/cancel", headers=auth(acme.admin)).status_code == 404
    asked = client.post(f"{base}/syncs/{started['id']}/cancel", headers=auth(acme.admin))
    assert asked.status_code == 202, asked.text
    assert asked.json()["cancel_requested_at"]

    run = wait_for_run(client, "acme", source["id"], started["id"], acme.admin)
    assert run["status"] == "cancelled" and "nothing changed" in run["error"]
    assert billed_by_month(settings, acme.id) == before
    assert _staged_files(settings, acme.id, run["id"]) == []
    listed = client.get(f"/api/v1/tenants/acme/billing-sources/{source['id']}", headers=auth(acme.admin)).json()
    assert listed["last_status"] == "cancelled"
    # it ended: cancelling again is a conflict naming how it ended
    again = client.post(f"{base}/syncs/{started['id']}/cancel", headers=auth(acme.admin))
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    # and the next sync runs as usual
    assert sync_and_wait(operator_client, "acme", source["id"])["status"] == "succeeded"


def test_a_running_sync_shows_its_progress(client, operator_client, acme, big_export):  # type: ignore[no-untyped-def]
    source = _source(operator_client, big_export)
    base = f"/api/v1/tenants/acme/billing-sources/{source['id']}"
    started = client.post(f"{base}/sync", headers=auth(acme.admin)).json()
    seen: list[dict] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"{base}/syncs/{started['id']}", headers=auth(acme.admin)).json()
        if run["progress"]:
            seen.append(run["progress"])
        if run["status"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert run["status"] == "succeeded", run
    phases = [progress["phase"] for progress in seen]
    assert "writing" in phases and phases[-1] == "committing", phases
    writing = [progress for progress in seen if progress["phase"] == "writing"]
    assert all(progress["files"] == 9 for progress in seen)
    assert any(0 < progress["rows"] < run["row_count"] for progress in writing), writing
    assert seen[-1]["rows"] == run["row_count"] and seen[-1]["files_read"] == 9
    assert seen[-1]["months"] == run["months"]
