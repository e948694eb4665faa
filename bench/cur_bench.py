#!/usr/bin/env python3
"""CUR 2.0 conversion benchmark: costlake syncing a generated AWS Data Exports CUR 2.0 Parquet export, next to
this machine's limit (DuckDB copying the same Parquet files), measured in the same run.

Not a test: run it by hand, see docs/benchmarks.md. Steps, each in its own child process with its own peak RSS
(sync_bench.run_measured): generate the export (`costlake.samples.aws_export`, 2 months, overwrite layout with
manifests), copy its data files with DuckDB (the limit), sync its root folder with the costlake CLI
(`--format aws-cur2`, so manifests are read and row counts checked). Targets: at least 50% of the limit's rows/s,
peak RSS under 1.5 GiB. The comparison with focus-converter 1.0.0 is not measured here yet (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync_bench import RSS_LIMIT_MIB, Step, last_json, measure_sync, run_measured, tail

TARGET_SHARE = 0.50
SEED = 42
CHUNK_ROWS = 500_000  # rows per data file, as AWS splits a delivery


def child_generate(out_dir: Path, rows: int, months: int) -> dict[str, Any]:
    from costlake.samples.aws_export import generate_cur2_export

    rows_per_month = math.ceil(rows / months)
    start = time.perf_counter()
    root = generate_cur2_export(out_dir, end_month=datetime.now(UTC).date().replace(day=1), months=months,
                                rows_per_month=rows_per_month, seed=SEED, chunk_rows=CHUNK_ROWS)
    seconds = time.perf_counter() - start
    files = sorted(root.rglob("*.parquet"))
    return {"rows": sum(_rows(file) for file in files), "root": str(root), "files": len(files), "seconds": seconds,
            "bytes": sum(file.stat().st_size for file in files)}


def _rows(file: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(file).metadata.num_rows)


def child_baseline(root: Path, target: Path) -> dict[str, Any]:
    """DuckDB's own Parquet-to-Parquet copy of the export's data files: what this machine can do."""
    import duckdb

    files = sorted(str(path) for path in root.rglob("*.parquet"))
    listed = ", ".join("'" + file.replace("'", "''") + "'" for file in files)
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    rows = connection.execute(f"COPY (SELECT * FROM read_parquet([{listed}], hive_partitioning = false)) "
                              f"TO '{target}' (FORMAT parquet)").fetchall()[0][0]
    return {"rows": rows, "seconds": time.perf_counter() - start, "files": len(files), "duckdb": duckdb.__version__}


def measure_child(name: str, args: list[str]) -> tuple[Step, dict[str, Any]]:
    measured = run_measured([sys.executable, __file__, "--step", *args])
    if measured.returncode != 0:
        return Step(name, peak_rss_mib=measured.peak_rss_mib, error=tail(measured.stderr)), {}
    info = last_json(measured.stdout)
    step = Step(name, rows=info["rows"], seconds=info["seconds"], peak_rss_mib=measured.peak_rss_mib,
                detail={k: v for k, v in info.items() if k not in ("rows", "seconds")} | {"wall_seconds": measured.seconds})
    return step, info


def report(steps: dict[str, Step], months: int) -> dict[str, Any]:
    base, sync, generated = steps["baseline"], steps["sync"], steps["generate"]
    share = (sync.rows_per_second / base.rows_per_second
             if sync.rows_per_second and base.rows_per_second and not sync.error else None)
    # The sync adds one unused-commitment row per recurring fee line: 2 per month in the generated export.
    expected_rows = None if generated.rows is None else generated.rows + 2 * months
    checks = {
        "throughput": None if share is None else share >= TARGET_SHARE,
        "memory": None if sync.peak_rss_mib is None or sync.error else sync.peak_rss_mib < RSS_LIMIT_MIB,
        "row_count": None if sync.rows is None or expected_rows is None else sync.rows == expected_rows,
    }
    verdict = "PASS" if all(checks.values()) else "FAIL" if False in checks.values() else "INCOMPLETE"
    return {"cpus": os.cpu_count(), "months": months,
            "steps": {name: asdict(step) | {"rows_per_second": step.rows_per_second} for name, step in steps.items()},
            "sync_share_of_baseline": share, "targets": {"share_of_baseline": TARGET_SHARE, "peak_rss_mib": RSS_LIMIT_MIB},
            "checks": checks, "verdict": verdict}


def print_table(result: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print(f"costlake CUR 2.0 benchmark: {result['months']} months, {result['cpus']} CPUs")
    print(f"{'step':<10}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MiB':>14}")
    for name, step in result["steps"].items():
        print(f"{name:<10}{num(step['rows'], ',d'):>12}{num(step['seconds'], '.2f'):>10}"
              f"{num(step['rows_per_second'], ',.0f'):>12}{num(step['peak_rss_mib'], ',.0f'):>14}")
        if step["error"]:
            print(f"  {name} did not complete:\n{step['error']}")
    label = {True: "PASS", False: "FAIL", None: "not measured"}
    checks = result["checks"]
    print(f"\nthroughput: sync at {num(result['sync_share_of_baseline'], '.0%')} of the DuckDB copy's rows/s "
          f"(target >= {TARGET_SHARE:.0%}): {label[checks['throughput']]}")
    print(f"memory: sync peak RSS {num(result['steps']['sync']['peak_rss_mib'], ',.0f')} MiB "
          f"(limit {RSS_LIMIT_MIB:,} MiB): {label[checks['memory']]}")
    print(f"rows: {label[checks['row_count']]}; verdict: {result['verdict']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="usage rows in the export (default 5,000,000)")
    parser.add_argument("--months", type=int, default=2, help="billing months, ending this UTC month (default 2)")
    parser.add_argument("--workdir", type=Path, help="where to create the run's folder (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the export, baseline copy and costlake home")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)  # internal: a child process's step
    args = parser.parse_args()

    if args.step:
        name, *params = args.step
        info = child_generate(Path(params[0]), int(params[1]), int(params[2])) if name == "generate" \
            else child_baseline(Path(params[0]), Path(params[1]))
        print(json.dumps(info))
        return 0

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="costlake-cur-bench-", dir=args.workdir))
    try:
        generated, info = measure_child("generate", ["generate", str(run_dir / "export"), str(args.rows), str(args.months)])
        steps = {"generate": generated}
        if generated.error:
            steps["baseline"] = Step("baseline", error="skipped: no export")
            steps["sync"] = Step("sync", error="skipped: no export")
        else:
            root = Path(info["root"])
            steps["baseline"], _ = measure_child("baseline", ["baseline", str(root / "data"), str(run_dir / "baseline.parquet")])
            steps["sync"] = measure_sync(root, run_dir / "home", source_format="aws-cur2")
        result = report(steps, args.months)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print_table(result)
            if args.keep:
                print(f"kept: {run_dir}")
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return {"PASS": 0, "FAIL": 1}.get(result["verdict"], 2)


if __name__ == "__main__":
    sys.exit(main())
