#!/usr/bin/env python3
"""Unit-cost query overhead: the explorer's daily-by-team query over a year, with and without `unit_metric`.

Not a test (timings depend on the machine): run it by hand, e.g. `PYTHONPATH=src python bench/unit_cost_bench.py
--rows 10000000`. It generates a FOCUS export of 12 months (rows spread evenly), syncs it into a throwaway home,
writes a `requests` metric labelled by team for every day of the year (365 days x the demo's teams), then times the
same costs/query through the API in-process, alternating the plain query and the one with unit_metric, and prints
medians and their ratio (target: at most 1.3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

RATIO_TARGET = 1.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows over the 12 months (default 1M; the target case is 10M)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="costlake-unit-bench-"))
    os.environ["COSTLAKE_HOME"] = str(home)
    for name in ("COSTLAKE_DATABASE_URL", "COSTLAKE_LAKE_URI", "COSTLAKE_URL", "COSTLAKE_TOKEN"):
        os.environ.pop(name, None)

    from fastapi.testclient import TestClient

    from costlake.app import create_app
    from costlake.catalog.tenants import create_tenant
    from costlake.samples.generator import generate_focus_export
    from costlake.samples.usage import REQUEST_METRIC, daily_requests
    from costlake.settings import Settings

    end_month = datetime.now(UTC).date().replace(day=1)
    started = time.perf_counter()
    generate_focus_export(home / "export", end_month=end_month, months=12, rows_per_month=args.rows // 12)
    print(f"generated {args.rows} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    with TestClient(create_app(Settings(), operator=True)) as api:
        tenant = create_tenant(api.app.state.services.catalog, "bench").id  # type: ignore[attr-defined]
        base = f"/api/v1/tenants/{tenant}"
        source = api.post(f"{base}/billing-sources", json={"provider": "aws", "source_uri": f"{home / 'export'}/**/*.parquet"}).json()
        first = date.fromisoformat(f"{end_month.year - 1}-{end_month.month:02d}-01")
        run = api.post(f"{base}/billing-sources/{source['id']}/sync", json={"from": first.isoformat()}).json()
        while (run := api.get(f"{base}/billing-sources/{source['id']}/syncs/{run['id']}").json())["status"] == "running":
            time.sleep(1)
        print(f"synced: {run['status']}, {run['row_count']} rows, {time.perf_counter() - started:.1f}s", file=sys.stderr)
        api.post(f"{base}/metrics", json=REQUEST_METRIC)
        last = end_month + timedelta(days=31)
        values = daily_requests(first, last)
        api.post(f"{base}/metrics/requests/values", json={"values": values})
        query = {"start": first.isoformat(), "end": last.isoformat(), "granularity": "day", "group_by": ["tag:team"]}
        timings: dict[str, list[float]] = {"plain": [], "unit": []}
        for index in range(args.runs + 1):
            for name, body in (("plain", query), ("unit", {**query, "unit_metric": "requests", "unit_scale": 1000})):
                begun = time.perf_counter()
                answer = api.post(f"{base}/costs/query", json=body)
                elapsed = (time.perf_counter() - begun) * 1000
                assert answer.status_code == 200, answer.text
                if index:  # the first round warms the caches
                    timings[name].append(elapsed)
        rows = len(answer.json()["rows"])
        with_unit = sum(1 for row in answer.json()["rows"] if row.get("unit_cost"))
    plain, unit = statistics.median(timings["plain"]), statistics.median(timings["unit"])
    print(json.dumps({
        "rows": args.rows, "metric_values": len(values), "answer_rows": rows, "rows_with_unit_cost": with_unit,
        "plain_median_ms": round(plain, 1), "unit_median_ms": round(unit, 1), "ratio": round(unit / plain, 3),
        "target": RATIO_TARGET, "ok": unit / plain <= RATIO_TARGET,
    }, indent=2))
    return 0 if unit / plain <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
