"""`costlake worker` logs each run's start and end, one line each, as JSON with COSTLAKE_LOG_FORMAT=json, and never a
secret (issue 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from costlake.months import add_months, current_month
from costlake_server import COSTLAKE, free_port
from focus_files import focus_row, write_csv
from test_cli import add_source, home, ok, tenant  # noqa: F401

NOW = current_month()
SECRET = "sk-ant-admin01-do-not-log-this-0123456789"


def _ended_lines(log: Path, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if sum(line.get("event") == "sync.ended" for line in lines) >= count:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"no {count} sync.ended lines in:\n{log.read_text()}")


def test_worker_logs_each_run_start_and_end_as_json_without_secrets(tenant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(add_months(NOW, -1), "1.50"), focus_row(NOW, "2")])
    good = add_source("acme", export, "--name", "good")
    vendor = subprocess.run(
        [str(COSTLAKE), "billing-source", "add", "--tenant", "acme", "--provider", "anthropic", "--credential-stdin", "--no-validate",
         "--output", "json"],
        input=SECRET, capture_output=True, text=True, check=True, env=os.environ.copy(),
    )
    bad = json.loads(vendor.stdout)
    log = tmp_path / "worker.log"
    env = {**os.environ, "COSTLAKE_LOG_FORMAT": "json", "COSTLAKE_SCHEDULER_TICK": "0.2s",
           "COSTLAKE_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{free_port()}", "COSTLAKE_VENDOR_MAX_ATTEMPTS": "1"}
    with log.open("wb") as sink:
        worker = subprocess.Popen([str(COSTLAKE), "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        lines = _ended_lines(log, 2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    text = log.read_text()
    assert SECRET not in text and SECRET[:20] not in text

    by_event = {(line["event"], line["source_id"]): line for line in lines if line.get("event")}
    started = by_event[("sync.started", good["id"])]
    assert started["level"] == "info" and started["trigger"] == "backfill" and started["source"] == "good"
    ended = by_event[("sync.ended", good["id"])]
    assert ended["run_id"] == started["run_id"] and ended["status"] == "succeeded"
    assert ended["months"] == [add_months(NOW, -1), NOW] and ended["rows"] == 2 and ended["seconds"] >= 0
    assert "2 rows" in ended["message"] and ended["tenant_id"] == tenant["id"]
    failed = by_event[("sync.ended", bad["id"])]
    assert failed["level"] == "error" and failed["status"] == "failed" and failed["error"]
    # one line per event
    assert all(line.count("\n") == 0 for line in text.splitlines())


def test_text_logs_are_one_line_per_run(tenant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(NOW, "2")])
    add_source("acme", export, "--name", "good")
    log = tmp_path / "worker.log"
    env = {**os.environ, "COSTLAKE_SCHEDULER_TICK": "0.2s"}
    env.pop("COSTLAKE_LOG_FORMAT", None)
    with log.open("wb") as sink:
        worker = subprocess.Popen([str(COSTLAKE), "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "sync ended" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    (line,) = [line for line in log.read_text().splitlines() if "sync ended" in line]
    assert "INFO costlake.sync: sync ended: source 'good'" in line and f"succeeded: {NOW}, 1 row," in line
