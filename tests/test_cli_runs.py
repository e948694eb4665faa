"""Following and cancelling syncs from the CLI (issue 10): Ctrl-C in local mode cancels cleanly, against a server it
says the run goes on and how to cancel it; `sync --wait` follows a run already going instead of failing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_for_run
from costlake.months import current_month
from costlake.samples.generator import generate_focus_export
from costlake_server import COSTLAKE, serving
from lake_reader import billed_by_month
from test_cli import add_source, cli, home, ok, tenant  # noqa: F401

NOW = current_month()


@pytest.fixture
def big_export(tmp_path: Path) -> Path:
    folder = tmp_path / "big"
    generate_focus_export(folder, end_month=date.fromisoformat(f"{NOW}-01"), months=3, rows_per_month=150_000, rows_per_file=50_000)
    return folder


def _source(tenant: str, export: Path) -> dict[str, Any]:
    return ok("billing-source", "add", "--tenant", tenant, "--provider", "aws", "--source-uri", str(export), "--name", "big", "--disabled")


def _running(operator_client, source_id: str, timeout: float = 60) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The source's run once it is running and has shown progress."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = operator_client.get(f"/api/v1/tenants/acme/billing-sources/{source_id}/syncs?limit=1").json()["items"]
        if items and items[0]["status"] == "running" and items[0]["progress"]:
            return items[0]
        time.sleep(0.05)
    raise AssertionError("no run started")


def _interrupt(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def test_ctrl_c_in_local_mode_cancels_cleanly(tenant, big_export, operator_client, settings) -> None:  # type: ignore[no-untyped-def]
    source = _source("acme", big_export)
    process = subprocess.Popen(
        [str(COSTLAKE), "billing-source", "sync", "--tenant", "acme", "big", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    run = _running(operator_client, source["id"])
    code, _, stderr = _interrupt(process)
    assert code == 130, stderr
    assert "cancelling… cancelled, nothing changed" in stderr, stderr
    assert "sync ended" not in stderr  # the server-side log lines are not the terminal's
    ended = wait_for_run(operator_client, "acme", source["id"], run["id"])
    assert ended["status"] == "cancelled"
    assert billed_by_month(settings, tenant["id"]) == {}  # the store is as it was: empty
    assert not list(Path(settings.lake_root).rglob(f"part-{run['id']}-*"))


@pytest.fixture
def server(home: Path, tmp_path: Path) -> Iterator[str]:
    with serving({**os.environ, "COSTLAKE_ALLOWED_LOCAL_ROOTS": str(tmp_path)}, tmp_path / "serve.log") as url:
        yield url


def test_ctrl_c_against_a_server_says_the_run_goes_on_and_how_to_cancel(tenant, big_export, server, operator_client) -> None:  # type: ignore[no-untyped-def]
    source = _source("acme", big_export)
    admin = ok("token", "create", "--tenant", "acme", "--role", "admin")["token"]
    env = {**os.environ, "COSTLAKE_URL": server, "COSTLAKE_TOKEN": admin}
    process = subprocess.Popen(
        [str(COSTLAKE), "billing-source", "sync", "--tenant", "acme", "big", "--wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    run = _running(operator_client, source["id"])
    code, _, stderr = _interrupt(process)
    assert code == 130, stderr
    assert "goes on on the server" in stderr and f"costlake billing-source cancel --tenant acme big {run['id']}" in stderr
    # it does go on; the cancel command stops it there
    assert operator_client.get(f"/api/v1/tenants/acme/billing-sources/{source['id']}/syncs/{run['id']}").json()["status"] == "running"
    result = cli("billing-source", "cancel", "--tenant", "acme", "big", env={"COSTLAKE_URL": server, "COSTLAKE_TOKEN": admin})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "cancelled"
    line = cli("billing-source", "cancel", "--tenant", "acme", "big", env={"COSTLAKE_URL": server, "COSTLAKE_TOKEN": admin})
    assert line.exit_code == 1 and "no sync of 'big' is running" in line.stderr


def test_sync_wait_follows_a_run_already_going(tenant, big_export, operator_client) -> None:  # type: ignore[no-untyped-def]
    source = _source("acme", big_export)
    started = operator_client.post(f"/api/v1/tenants/acme/billing-sources/{source['id']}/sync").json()
    result = cli("billing-source", "sync", "--tenant", "acme", "big", "--wait")
    assert result.exit_code == 0, result.stderr
    assert f"already running (run {started['id']}" in result.stderr and "following it" in result.stderr
    run = json.loads(result.stdout)
    assert run["id"] == started["id"] and run["status"] == "succeeded" and run["row_count"] == 450_000
    # without --wait, a running sync is still a one-line error naming the run
    operator_client.post(f"/api/v1/tenants/acme/billing-sources/{source['id']}/sync")
    refused = cli("billing-source", "sync", "--tenant", "acme", "big")
    assert refused.exit_code == 1 and "already running" in refused.stderr


def test_the_progress_line_says_phase_files_rows_and_months() -> None:
    from costlake.cli.runs import describe

    assert describe({"progress": None}) == "starting · 0 rows"
    running = {"progress": {"phase": "writing", "files": 12, "files_read": 3, "rows": 120_000, "months": ["2026-10", "2026-11"]}}
    assert describe(running) == "writing · 3/12 files · 120,000 rows · 2 months"
    vendor = {"progress": {"phase": "reading", "files": None, "files_read": 0, "rows": 1, "months": ["2026-12"]}}
    assert describe(vendor) == "reading · 1 row · 1 month"
