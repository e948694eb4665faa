"""Issue 14, findings 3 and 6: a dead worker's run is recorded as it really ended, from the Delta log.

Workers are real `costlake` processes killed with SIGKILL at the named point: right after the run's Delta log
entry appears (the rows are in the table: the run must end `succeeded` with its counts), and while it stages
files (nothing committed: `failed`, and the files it staged are deleted when that is recorded).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import sync_and_wait
from costlake.app import create_app
from costlake.months import add_months, current_month
from costlake.samples.generator import generate_focus_export
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

NOW = current_month()
COSTLAKE = [sys.executable, "-m", "costlake"]
# The real CLI, held for a while right after its Delta commit returns: where the probe's kill -9 landed (the log
# entry is written, the catalog does not know yet). Without the pause the window is a few milliseconds wide.
HELD_AFTER_COMMIT = """
import sys, time
from costlake.store.lake import Lake
commit = Lake.replace_months
def held(self, *args, **kwargs):
    version = commit(self, *args, **kwargs)
    time.sleep(120)
    return version
Lake.replace_months = held
from costlake.cli.main import main
sys.argv = ["costlake", *sys.argv[1:]]
main()
"""


def _costlake(*args: str, env: dict[str, str]) -> dict:
    done = subprocess.run([*COSTLAKE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"costlake {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture
def home(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A tenant with one synced local source, set up through the real CLI."""
    env = {**os.environ, "COSTLAKE_HOME": str(settings.home), "COSTLAKE_LEASE_DURATION": "3s"}
    for name in ("COSTLAKE_URL", "COSTLAKE_TOKEN"):
        env.pop(name, None)
    export = tmp_path / "export"
    write_csv(export / "now.csv", [focus_row(NOW, "7.25")])
    tenant = _costlake("tenant", "create", "acme", env=env)
    source = _costlake("billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", str(export), env=env)
    assert _costlake("billing-source", "sync", "--tenant", "acme", source["id"], "--wait", env=env)["status"] == "succeeded"
    return env, export, tenant["id"], source["id"]


def _killed_when(command: list[str], env: dict[str, str], ready) -> None:  # type: ignore[no-untyped-def]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not ready():
        assert worker.poll() is None, "the worker ended before the kill point"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.01)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def _runs(client: TestClient, source_id: str) -> list[dict]:
    return client.get(f"/api/v1/tenants/acme/billing-sources/{source_id}/syncs").json()["items"]


@pytest.mark.parametrize("settings", ["sqlite", "postgresql"], indirect=True)
def test_a_run_killed_right_after_its_commit_is_recorded_succeeded_with_its_counts(home, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env, export, tenant_id, source_id = home
    write_csv(export / "previous.csv", [focus_row(add_months(NOW, -1), "2.50"), focus_row(add_months(NOW, -1), "0.25")])
    log = settings.home / "lake" / tenant_id / "_delta_log"
    commits_before = set(log.glob("*.json"))
    command = [sys.executable, "-c", HELD_AFTER_COMMIT, "billing-source", "sync", "--tenant", "acme", source_id, "--from", f"{add_months(NOW, -1)}-01", "--wait"]
    _killed_when(command, env, lambda: set(log.glob("*.json")) - commits_before)
    committed = {add_months(NOW, -1): Decimal("2.75"), NOW: Decimal("7.25")}
    assert billed_by_month(settings, tenant_id) == committed  # the rows landed

    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "3s")
    time.sleep(3.5)
    with TestClient(create_app(type(settings)(), operator=True)) as client:
        killed = _runs(client, source_id)[0]
        assert killed["status"] == "running"
        after = sync_and_wait(client, "acme", source_id)  # reaping comes first
        assert after["status"] == "succeeded", after
        killed = next(run for run in _runs(client, source_id) if run["id"] == killed["id"])
    assert killed["status"] == "succeeded" and killed["error"] is None, killed
    assert killed["row_count"] == 3 and killed["months"] == sorted(committed), killed
    assert killed["billed_cost_by_month"] == {add_months(NOW, -1): {"USD": "2.75"}, NOW: {"USD": "7.25"}}
    assert billed_by_month(settings, tenant_id) == committed


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_run_killed_while_staging_is_failed_and_its_staged_files_are_deleted(home, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env, export, tenant_id, source_id = home
    generate_focus_export(export / "big", end_month=date.fromisoformat(f"{NOW}-01"), months=1, rows_per_month=400_000)
    lake = settings.home / "lake" / tenant_id
    files_before = set(lake.rglob("*.parquet"))
    _killed_when([*COSTLAKE, "billing-source", "sync", "--tenant", "acme", source_id, "--wait"], env,
                 lambda: set(lake.rglob("*.parquet")) - files_before)
    left = set(lake.rglob("*.parquet")) - files_before
    assert left, "the killed run staged files"

    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "3s")
    time.sleep(3.5)
    with TestClient(create_app(type(settings)(), operator=True)) as client:
        killed_id = _runs(client, source_id)[0]["id"]
        sync_and_wait(client, "acme", source_id)
        killed = next(run for run in _runs(client, source_id) if run["id"] == killed_id)
    assert killed["status"] == "failed" and "before it committed" in killed["error"], killed
    assert not [path for path in left if path.exists()], "the dead run's staged files were deleted"
    assert not [path for path in lake.rglob(f"part-{killed_id}-*")]
