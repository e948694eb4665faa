"""Issue 14, findings 4 and 5: prompt recovery after a worker dies, and no lease lost in a queue.

A worker killed in a never-synced source's first sync: the source is due again at once (the next scheduler tick
syncs it), and a sync started from the same host is accepted at once, since the dead holder's process is
provably gone (no waiting for its 2-minute lease). Repeated failures back off. Queued runs show as `queued` and
take their lease when they start, so a long queue never expires them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from costlake.catalog import sources as source_rows
from costlake.catalog.models import BillingSource
from costlake.catalog.runs import RunOutcome, due_sources, finish_run, list_runs, start_run
from costlake.months import current_month
from costlake.samples.generator import generate_focus_export
from costlake.services import Services
from costlake.sync.engine import SyncContext
from costlake.sync.runner import SyncRunner
from costlake.sync.scheduler import Scheduler

NOW = current_month()
COSTLAKE = [sys.executable, "-m", "costlake"]


def _costlake(*args: str, env: dict[str, str]) -> dict:
    done = subprocess.run([*COSTLAKE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"costlake {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def _sync_in_a_cli_process(settings, tmp_path: Path) -> tuple[dict, subprocess.Popen]:  # type: ignore[no-untyped-def, type-arg]
    """A tenant with a 400,000-row source, and `billing-source sync --wait` running it in a process of its own
    (its own process group, so a test can kill it as a crash would)."""
    env = {**os.environ, "COSTLAKE_HOME": str(settings.home)}
    for name in ("COSTLAKE_URL", "COSTLAKE_TOKEN"):
        env.pop(name, None)
    export = tmp_path / "export"
    generate_focus_export(export, end_month=date.fromisoformat(f"{NOW}-01"), months=1, rows_per_month=400_000)
    _costlake("tenant", "create", "acme", env=env)
    source = _costlake("billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", str(export), env=env)
    worker = subprocess.Popen([*COSTLAKE, "billing-source", "sync", "--tenant", "acme", source["id"], "--wait"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return source, worker


def _latest(services: Services, source_id: str, timeout: float = 120) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs, _ = list_runs(services.catalog, source_id, limit=10, cursor=None)
        if runs and runs[0].status not in ("queued", "running"):
            return runs
        time.sleep(0.1)
    raise AssertionError("the sync did not finish")


@pytest.mark.parametrize("settings", ["sqlite", "postgresql"], indirect=True)
def test_a_first_sync_killed_3s_in_is_retried_at_the_next_tick_without_waiting_for_the_lease(settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "2m")  # the default: no test shortcut
    source, worker = _sync_in_a_cli_process(settings, tmp_path)
    services = Services.open(type(settings)())
    deadline = time.monotonic() + 60
    while not list_runs(services.catalog, source["id"], limit=1, cursor=None)[0]:
        assert worker.poll() is None and time.monotonic() < deadline, "the sync never started"
        time.sleep(0.05)
    while list_runs(services.catalog, source["id"], limit=1, cursor=None)[0][0].status != "running":  # queued first
        assert worker.poll() is None and time.monotonic() < deadline, "the sync never ran"
        time.sleep(0.05)
    time.sleep(0.5)  # well into reading: killed mid-sync (a fixed 3 s outlived the whole sync on a quiet machine)
    assert list_runs(services.catalog, source["id"], limit=1, cursor=None)[0][0].status == "running", "make the export larger"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    try:
        killed = list_runs(services.catalog, source["id"], limit=1, cursor=None)[0][0]
        assert killed.status == "running" and killed.lease_expires_at > datetime.now(UTC)
        started = time.monotonic()
        Scheduler(services.runner).tick()  # another worker's next tick, well within the dead run's lease
        runs = _latest(services, source["id"])
        assert time.monotonic() - started < 60
    finally:
        services.close()
    assert [(run.id == killed.id, run.status) for run in runs] == [(False, "succeeded"), (True, "failed")], runs
    assert "process" in (runs[1].error or "") and "is gone" in (runs[1].error or "")
    assert runs[0].row_count == 400_000


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_after_a_kill_a_manual_sync_from_the_same_host_is_accepted_at_once(settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from conftest import sync_and_wait
    from costlake.app import create_app

    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "2m")
    source, worker = _sync_in_a_cli_process(settings, tmp_path)
    lake = settings.home / "lake"
    deadline = time.monotonic() + 60
    while not list(lake.rglob("*.parquet")):  # killed while it stages
        assert worker.poll() is None and time.monotonic() < deadline, "the sync ended before the kill point"
        time.sleep(0.02)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()

    with TestClient(create_app(type(settings)(), operator=True)) as client:
        started = time.monotonic()
        run = sync_and_wait(client, "acme", source["id"])  # 202, not 409 for the dead run's 2-minute lease
        assert time.monotonic() - started < 90
    assert run["status"] == "succeeded" and run["row_count"] == 400_000, run


def test_failed_sources_are_due_again_at_once_then_with_backoff(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from costlake.catalog.runs import retry_delay

    acme = make_tenant("acme")
    services = Services.open(settings)
    try:
        source = source_rows.insert_source(services.catalog, BillingSource(
            tenant_id=acme.id, name="s", provider="aws", format="focus", source_uri=str(tmp_path)))
        interval = timedelta(hours=6)

        def fail_once() -> None:
            stored = source_rows.get_source(services.catalog, acme.id, source.id)
            run = start_run(services.catalog, stored, trigger="manual", from_date=None, owner="t", lease=timedelta(minutes=1))
            finish_run(services.catalog, run.id, RunOutcome(status="failed", error="x"))

        fail_once()
        assert [s.id for s in due_sources(services.catalog, interval)] == [source.id]  # at once after one failure
        fail_once()
        assert due_sources(services.catalog, interval) == []  # then it waits
        later = datetime.now(UTC) + retry_delay(2, interval) + timedelta(seconds=1)
        assert [s.id for s in due_sources(services.catalog, interval, now=later)] == [source.id]
        assert retry_delay(2, interval) < retry_delay(3, interval) < retry_delay(12, interval) == interval
        assert source_rows.get_source(services.catalog, acme.id, source.id).failed_attempts == 2
        stored = source_rows.get_source(services.catalog, acme.id, source.id)
        run = start_run(services.catalog, stored, trigger="manual", from_date=None, owner="t", lease=timedelta(minutes=1))
        finish_run(services.catalog, run.id, RunOutcome(status="succeeded"))
        assert source_rows.get_source(services.catalog, acme.id, source.id).failed_attempts == 0
        assert due_sources(services.catalog, interval) == []
    finally:
        services.close()


def test_queued_runs_show_as_queued_and_never_lose_their_lease_in_the_queue(settings, make_tenant, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "1s")
    settings = type(settings)()
    settings.allowed_local_roots = [tmp_path]
    acme = make_tenant("acme")
    generate_focus_export(tmp_path / "big", end_month=date.fromisoformat(f"{NOW}-01"), months=1, rows_per_month=150_000)
    services = Services.open(settings)
    runner = SyncRunner(SyncContext(settings, services.catalog, services.lake), max_workers=1)
    try:
        sources = [
            source_rows.insert_source(services.catalog, BillingSource(
                tenant_id=acme.id, name=f"s{n}", provider="aws", format="focus", source_uri=str(tmp_path / "big")))
            for n in range(3)
        ]
        started = [runner.start(source) for source in sources]
        assert [run.status for run in started] == ["queued"] * 3
        shown = [list_runs(services.catalog, source.id, limit=1, cursor=None)[0][0].status for source in sources]
        assert shown[1:] == ["queued", "queued"], shown
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # another worker's scheduler reaps dead runs meanwhile
            runner.start_due()
            runs = [list_runs(services.catalog, source.id, limit=1, cursor=None)[0][0] for source in sources]
            if all(run.status not in ("queued", "running") for run in runs):
                break
            time.sleep(0.3)
        assert [(run.status, run.error) for run in runs] == [("succeeded", None)] * 3
    finally:
        runner.shutdown()
        services.close()


def test_a_lake_lock_held_by_a_dead_process_is_taken_over_at_once(settings, make_tenant) -> None:  # type: ignore[no-untyped-def]
    from costlake.catalog import open_catalog
    from costlake.catalog.locks import lake_commit_lock
    from costlake.catalog.models import LakeLock
    from costlake.catalog.owners import process_owner

    acme = make_tenant("acme")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    host, _pid, boot, nonce = process_owner().split(":")
    dead_owner = f"{host}:{gone.stdout.strip()}:{boot}:{nonce}:lock"
    catalog = open_catalog(settings)
    try:
        with catalog.session() as session:
            session.add(LakeLock(tenant_id=acme.id, owner=dead_owner, expires_at=datetime.now(UTC) + timedelta(hours=1)))
        started = time.monotonic()
        with lake_commit_lock(catalog, acme.id, process_owner(), lease=timedelta(minutes=1), timeout=timedelta(seconds=10)):
            pass
        assert time.monotonic() - started < 2
    finally:
        catalog.close()

