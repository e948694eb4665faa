#!/usr/bin/env python3
"""Query load: 8 concurrent clients on 1M rows, with the result cache and per-tenant bound, next to a baseline.

Not a test (timings depend on the machine): run it by hand, see docs/benchmarks.md. It generates a 3-month FOCUS
export, syncs it with the costlake CLI into a throwaway home (bench/query_bench.py's steps), then runs two
`costlake serve` processes one after the other on that home: the baseline (COSTLAKE_QUERY_CACHE_ENTRIES=0 and a
concurrency bound no load reaches: the query path as it was before the cache) and costlake as configured by
default. Against each, 8 client threads send a 4-query mix (daily x ServiceName, monthly x tag:team, top 10
ResourceId, ServiceName values for a filter picker):

- cold mix: every request differs (a filter matching every row names a different value), so no answer can come
  from a cache, while the work stays that of the dashboard query;
- dashboard: the same 4 requests again and again, as dashboards and digests do.

Each phase reports requests, errors, throughput and p50/p95/p99 latency; every answer must be 200.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from query_bench import Server, distinct, measure_generate, measure_sync, queries
from sync_bench import Step

CLIENTS = 8
REQUESTS_PER_CLIENT = 25
COLD_P95_TARGET_MS, DASHBOARD_P95_TARGET_MS = 500.0, 20.0
SETTLE_SECONDS = 5.0  # between the phases
BASELINE_ENV = {"COSTLAKE_QUERY_CACHE_ENTRIES": "0", "COSTLAKE_QUERY_FOLD_ROWS": "0", "COSTLAKE_QUERY_CONCURRENCY": "64"}


def mix(end_month: date) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path suffix, body) of the 4 dashboard requests."""
    bodies = [q["body"] for q in queries(end_month)]
    return [("POST", "/costs/query", body) for body in bodies] + [("GET", "/costs/dimension-values?dimension=ServiceName&limit=20", None)]


def cold(request: tuple[str, str, dict[str, Any] | None], n: int) -> tuple[str, str, dict[str, Any] | None]:
    """The same request, an answer no cache holds (query_bench.distinct; for the picker a larger page)."""
    method, path, body = request
    if body is None:
        return method, path.replace("limit=20", f"limit={20 + n}"), None
    return method, path, distinct(body, n)


def run_phase(url: str, token: str, tenant_id: str, end_month: date, *, repeated: bool) -> dict[str, Any]:
    import httpx

    requests = mix(end_month)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    # Made before the clock starts: building an httpx client (its SSL context) holds the GIL for milliseconds,
    # which would stall the other client threads' timed requests.
    clients = [
        httpx.Client(base_url=f"{url}/api/v1/tenants/{tenant_id}", headers={"Authorization": f"Bearer {token}"}, timeout=120)
        for _ in range(CLIENTS)
    ]

    connects: list[float] = []

    def client(index: int) -> None:
        with clients[index] as http:
            # Its connection first (reported apart, not in the percentiles): a dashboard's browser keeps its
            # keep-alive connection open, and 8 threads opening theirs at once measure the client's GIL, not the server.
            started = time.perf_counter()
            http.get(f"{url}/api/v1/me")
            with lock:
                connects.append((time.perf_counter() - started) * 1000)
            barrier.wait()
            for n in range(REQUESTS_PER_CLIENT):
                request = requests[(index + n) % len(requests)]
                method, path, body = request if repeated else cold(request, index * REQUESTS_PER_CLIENT + n)
                started = time.perf_counter()
                response = http.request(method, path, json=body)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {path}: {response.text[:200]}")

    barrier = threading.Barrier(CLIENTS + 1)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": len(latencies), "errors": len(errors), "first_errors": errors[:3], "seconds": round(wall, 2),
            "per_second": round(len(latencies) / wall, 1), "p50_ms": round(cuts[49], 1), "p95_ms": round(cuts[94], 1),
            "p99_ms": round(cuts[98], 1), "connect_ms": {"median": round(statistics.median(connects), 1), "max": round(max(connects), 1)}}


def measure(home: Path, run_dir: Path, setup: dict[str, Any], end_month: date, name: str, extra: dict[str, str]) -> dict[str, Any]:
    import httpx

    server = Server(home, run_dir / f"serve-{name}.log", extra)
    token, tenant_id = setup["token"]["token"], setup["tenant"]["id"]
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as probe:
            server.wait_ready(probe)

            def warm() -> None:
                """One pass of the dashboard's 4 requests: file metadata and DuckDB's caches before the cold phase,
                and before the dashboard phase its answers, as a dashboard open on a screen would have them (the
                cold phase's 200 distinct answers may have pushed them out of the per-tenant bound)."""
                for method, path, body in mix(end_month):
                    probe.request(method, f"/api/v1/tenants/{tenant_id}{path}", json=body)

            warm()
            cold_mix = run_phase(server.url, token, tenant_id, end_month, repeated=False)
            # The cold phase's new kinds of question have the server fold the table in the background (a second or
            # so on 2 cores); the dashboard phase measures repeated questions on a server at rest, as a dashboard
            # open on a screen meets it, not that work.
            time.sleep(SETTLE_SECONDS)
            warm()
            return {"cold_mix": cold_mix, "dashboard": run_phase(server.url, token, tenant_id, end_month, repeated=True)}
    finally:
        server.stop()


def print_table(result: dict[str, Any]) -> None:
    print(f"query load: {result['rows']:,} rows, {CLIENTS} clients x {REQUESTS_PER_CLIENT} requests per phase, "
          f"{os.cpu_count()} CPUs, load average {result['load_average']}")
    print(f"{'server':<10} {'phase':<10} {'req':>5} {'err':>4} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  connect ms")
    for server in ("baseline", "costlake"):
        for phase in ("cold_mix", "dashboard"):
            f = result[server][phase]
            print(f"{server:<10} {phase:<10} {f['requests']:>5} {f['errors']:>4} {f['per_second']:>7} {f['p50_ms']:>8} "
                  f"{f['p95_ms']:>8} {f['p99_ms']:>8}  {f['connect_ms']['median']} / {f['connect_ms']['max']}")
    for check, passed in result["checks"].items():
        print(f"{'PASS' if passed else 'FAIL'}  {check}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the export and costlake home, and print their folder")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="costlake-load-bench-", dir=args.workdir))
    export, home = run_dir / "export", run_dir / "home"
    try:
        return measure_all(args, run_dir, export, home)
    finally:
        if args.keep:
            print(f"kept: {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def measure_all(args: argparse.Namespace, run_dir: Path, export: Path, home: Path) -> int:
    end_month = datetime.now(UTC).date().replace(day=1)
    steps: dict[str, Step] = {"generate": measure_generate(export, args.rows, end_month)}
    if steps["generate"].error:
        print(steps["generate"].error, file=sys.stderr)
        return 2
    steps["sync"], setup = measure_sync(export, home)
    if steps["sync"].error:
        print(steps["sync"].error, file=sys.stderr)
        return 2
    result: dict[str, Any] = {"rows": steps["sync"].rows, "load_average": round(os.getloadavg()[0], 1)}
    result["baseline"] = measure(home, run_dir, setup, end_month, "baseline", BASELINE_ENV)
    result["costlake"] = measure(home, run_dir, setup, end_month, "costlake", {})
    ours = result["costlake"]
    result["checks"] = {
        "no errors": all(result[s][p]["errors"] == 0 for s in ("baseline", "costlake") for p in ("cold_mix", "dashboard")),
        f"cold mix p95 < {COLD_P95_TARGET_MS:g} ms": ours["cold_mix"]["p95_ms"] < COLD_P95_TARGET_MS,
        f"dashboard p95 < {DASHBOARD_P95_TARGET_MS:g} ms": ours["dashboard"]["p95_ms"] < DASHBOARD_P95_TARGET_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
