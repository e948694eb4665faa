"""A worker killed in the middle of a sync leaves the store exactly as it was; the next sync proceeds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import sync_and_wait
from costlake.months import current_month
from costlake.samples.generator import generate_focus_export
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

COSTLAKE = [sys.executable, "-m", "costlake"]


def _costlake(*args: str, env: dict[str, str]) -> dict:
    done = subprocess.run([*COSTLAKE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"costlake {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_sigkill_mid_sync_keeps_the_earlier_data(settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "COSTLAKE_HOME": str(settings.home), "COSTLAKE_LEASE_DURATION": "3s"}
    env.pop("COSTLAKE_URL", None)
    env.pop("COSTLAKE_TOKEN", None)
    export = tmp_path / "export"
    write_csv(export / "small.csv", [focus_row(current_month(), "7.25")])
    tenant = _costlake("tenant", "create", "acme", env=env)
    source = _costlake("billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", str(export), env=env)
    first = _costlake("billing-source", "sync", "--tenant", "acme", source["id"], "--wait", env=env)
    assert first["status"] == "succeeded"
    before = billed_by_month(settings, tenant["id"])
    assert before == {current_month(): Decimal("7.25")}

    # A large export replaces the small one; the worker syncing it is killed while it writes.
    shutil.rmtree(export)
    this_month = datetime.now(UTC).date().replace(day=1)
    generate_focus_export(export, end_month=date(this_month.year, this_month.month, 1), months=2, rows_per_month=400_000)
    lake = settings.home / "lake" / tenant["id"]
    files_before = set(lake.rglob("*.parquet"))
    worker = subprocess.Popen(
        [*COSTLAKE, "billing-source", "sync", "--tenant", "acme", source["id"], "--wait"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not (set(lake.rglob("*.parquet")) - files_before):
        assert worker.poll() is None, "the sync finished before it could be killed; make the export larger"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    assert billed_by_month(settings, tenant["id"]) == before  # staged files are invisible: nothing committed
    runs = _costlake("billing-source", "syncs", "--tenant", "acme", source["id"], env=env)["items"]
    assert runs[0]["status"] == "running"

    time.sleep(3.5)  # the dead worker's lease expires
    from fastapi.testclient import TestClient

    from costlake.app import create_app

    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "3s")
    with TestClient(create_app(type(settings)(), operator=True)) as client:
        run = sync_and_wait(client, "acme", source["id"])
        assert run["status"] == "succeeded", run
        assert run["row_count"] == 800_000
        listed = client.get(f"/api/v1/tenants/acme/billing-sources/{source['id']}/syncs").json()["items"]
    killed = next(item for item in listed if item["id"] == runs[0]["id"])
    assert killed["status"] == "failed" and "lease expired" in killed["error"]
    for currency in ("USD", "EUR"):
        assert billed_by_month(settings, tenant["id"], currency=currency) == {
            month: Decimal(by_currency[currency]) for month, by_currency in run["billed_cost_by_month"].items()
        }
