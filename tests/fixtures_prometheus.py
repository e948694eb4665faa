"""A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, holding a file of samples loaded with promtool.

The samples are a gauge `app_requests_per_day{team=...}` written at 23:00 UTC on each of the last DAYS days:
payments = 1000 + n, search = 500 + 2n on the n-th day back. Skipped without the binaries, except under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

DAYS = 40


def expected_requests(day: date, team: str, today: date) -> int:
    back = (today - day).days
    return 1000 + back if team == "payments" else 500 + 2 * back


@dataclass(frozen=True)
class PrometheusServer:
    url: str
    today: date

    def days(self) -> list[date]:
        return [self.today - timedelta(days=back) for back in range(DAYS, 0, -1)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _samples(today: date) -> str:
    lines = ["# HELP app_requests_per_day Requests served per day.", "# TYPE app_requests_per_day gauge"]
    for team in ("payments", "search"):
        for back in range(DAYS, 0, -1):
            day = today - timedelta(days=back)
            stamp = int(datetime(day.year, day.month, day.day, 23, tzinfo=UTC).timestamp())
            lines.append(f'app_requests_per_day{{team="{team}"}} {expected_requests(day, team, today)} {stamp}')
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not binary or not promtool:
        reason = "prometheus/promtool not installed (apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs it")
        pytest.skip(reason)
    folder: Path = tmp_path_factory.mktemp("prometheus")
    today = datetime.now(UTC).date()
    (folder / "samples.om").write_text(_samples(today))
    data = folder / "data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(folder / "samples.om"), str(data)], check=True, capture_output=True)
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\n")
    port = _free_port()
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
         "--storage.tsdb.retention.time=3650d"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not start: {(folder / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield PrometheusServer(url, today)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
