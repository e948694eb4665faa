#!/usr/bin/env python3
"""CUR conversion benchmark: costlake syncing a generated AWS Data Exports CUR 2.0 Parquet export, next to this
machine's limit (DuckDB copying the same Parquet files) measured in the same run, and next to the FinOps Foundation's
focus-converter 1.0.0 on a legacy CUR CSV cut from the same export.

Not a test: run it by hand, see docs/benchmarks.md. Steps, each in its own child process with its own peak RSS
(sync_bench.run_measured): generate the export (`costlake.samples.aws_export`, 2 months, overwrite layout with
manifests), copy its data files with DuckDB (the limit), sync its root folder with the costlake CLI
(`--format aws-cur2`, so manifests are read and row counts checked); then write its first 500,000 rows as a legacy
CUR CSV (cur_legacy.py), sync that file with the CLI (`--format aws-cur-legacy`) and convert it with focus-converter
(its own cached venv), once in its fastest mode and once with its defaults. Targets: at least 50% of the limit's
rows/s, peak RSS under 1.5 GiB, at least 5x focus-converter's rows/s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cur_legacy import (
    DEFAULT_VENV,
    ensure_venv,
    focus_converter_command,
    parquet_rows,
    write_legacy_csv,
)
from sync_bench import (
    RSS_LIMIT_MIB,
    Step,
    exit_code,
    last_json,
    measure_sync,
    run_measured,
    show,
    tail,
)

TARGET_SHARE = 0.50
TARGET_VS_FOCUS_CONVERTER = 5.0
SEED = 42
CHUNK_ROWS = 500_000  # rows per data file, as AWS splits a delivery
SUBSET_ROWS = 500_000  # rows of the legacy CUR CSV both tools convert
# focus-converter 1.0.0 sometimes hangs after an error instead of exiting (it did on a CSV missing a column).
FOCUS_CONVERTER_TIMEOUT = 1800


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


def child_legacy_csv(data_dir: Path, target: Path, rows: int) -> dict[str, Any]:
    files = sorted(data_dir.rglob("*.parquet"))
    start = time.perf_counter()
    written = write_legacy_csv(files, target, rows)
    return {"rows": written, "seconds": time.perf_counter() - start, "bytes": target.stat().st_size}


def measure_focus_converter(name: str, executable: Path, csv_file: Path, out_dir: Path, source_columns: bool) -> Step:
    """The whole focus-converter command, start-up included (as the costlake CLI's sync is timed)."""
    out_dir.mkdir(parents=True)
    command = focus_converter_command(executable, csv_file, out_dir, source_columns)
    guard = ["timeout", "--kill-after=10", str(FOCUS_CONVERTER_TIMEOUT)] if shutil.which("timeout") else []
    measured = run_measured([*guard, *command])  # ru_maxrss of `timeout` covers the child it reaped
    detail = {"command": " ".join(command[1:]), "wall_seconds": measured.seconds}
    if measured.returncode != 0:
        reason = "timed out" if measured.returncode == 124 else f"exited {measured.returncode}"
        return Step(name, seconds=measured.seconds, peak_rss_mib=measured.peak_rss_mib, detail=detail,
                    error=f"focus-converter {reason}:\n{tail(measured.stderr or measured.stdout)}")
    return Step(name, rows=parquet_rows(out_dir), seconds=measured.seconds, peak_rss_mib=measured.peak_rss_mib,
                detail=detail)


def compare_with_focus_converter(run_dir: Path, data_dir: Path, subset_rows: int, venv: Path) -> dict[str, Step]:
    """Cut the legacy CUR CSV, sync it with costlake, convert it with focus-converter (fastest mode, then defaults)."""
    csv_file = run_dir / "legacy-cur.csv"
    legacy, _ = measure_child("legacy_csv", ["legacy_csv", str(data_dir), str(csv_file), str(subset_rows)])
    steps = {"legacy_csv": legacy}
    names = ("legacy_sync", "focus_converter", "focus_converter_defaults")
    if legacy.error:
        return steps | {name: Step(name, error="skipped: no legacy CUR CSV") for name in names}
    steps["legacy_sync"] = replace(measure_sync(csv_file, run_dir / "legacy-home", source_format="aws-cur-legacy"),
                                   name="legacy_sync")
    try:
        executable = ensure_venv(venv)
    except (OSError, subprocess.CalledProcessError) as error:
        problem = f"could not set up focus-converter in {venv}: {error}; check that PyPI is reachable, or delete the venv"
        return steps | {name: Step(name, error=problem) for name in names[1:]}
    steps["focus_converter"] = measure_focus_converter("focus_converter", executable, csv_file, run_dir / "fc-fast", False)
    steps["focus_converter_defaults"] = measure_focus_converter("focus_converter_defaults", executable, csv_file,
                                                                run_dir / "fc-defaults", True)
    return steps


def measure_child(name: str, args: list[str]) -> tuple[Step, dict[str, Any]]:
    measured = run_measured([sys.executable, __file__, "--step", *args])
    if measured.returncode != 0:
        return Step(name, peak_rss_mib=measured.peak_rss_mib, error=tail(measured.stderr)), {}
    info = last_json(measured.stdout)
    step = Step(name, rows=info["rows"], seconds=info["seconds"], peak_rss_mib=measured.peak_rss_mib,
                detail={k: v for k, v in info.items() if k not in ("rows", "seconds")} | {"wall_seconds": measured.seconds})
    return step, info


def _ratio(numerator: Step | None, denominator: Step | None) -> float | None:
    if numerator is None or denominator is None or numerator.error or denominator.error:
        return None
    if not numerator.rows_per_second or not denominator.rows_per_second:
        return None
    return numerator.rows_per_second / denominator.rows_per_second


def report(steps: dict[str, Step], months: int) -> dict[str, Any]:
    sync, generated = steps["sync"], steps["generate"]
    share = _ratio(sync, steps["baseline"])
    # The sync adds one unused-commitment row per recurring fee line: 2 per month in the generated export.
    expected_rows = None if generated.rows is None else generated.rows + 2 * months
    checks = {
        "throughput": None if share is None else share >= TARGET_SHARE,
        "memory": None if sync.peak_rss_mib is None or sync.error else sync.peak_rss_mib < RSS_LIMIT_MIB,
        "row_count": None if sync.rows is None or expected_rows is None else sync.rows == expected_rows,
    }
    versus = {name: _ratio(steps.get("legacy_sync"), steps.get(name)) for name in ("focus_converter", "focus_converter_defaults")}
    if "legacy_sync" in steps:
        legacy, legacy_sync = steps["legacy_csv"], steps["legacy_sync"]
        # The subset is the first month's first usage rows: no recurring fee line, so rows out = rows in.
        checks["legacy_row_count"] = None if legacy.rows is None or legacy_sync.rows is None else legacy.rows == legacy_sync.rows
        checks["vs_focus_converter"] = None if versus["focus_converter"] is None else versus["focus_converter"] >= TARGET_VS_FOCUS_CONVERTER
    verdict = "PASS" if all(checks.values()) else "FAIL" if False in checks.values() else "INCOMPLETE"
    return {"cpus": os.cpu_count(), "months": months,
            "steps": {name: asdict(step) | {"rows_per_second": step.rows_per_second} for name, step in steps.items()},
            "sync_share_of_baseline": share, "legacy_sync_vs": versus,
            "targets": {"share_of_baseline": TARGET_SHARE, "peak_rss_mib": RSS_LIMIT_MIB,
                        "vs_focus_converter": TARGET_VS_FOCUS_CONVERTER},
            "checks": checks, "verdict": verdict}


def print_table(result: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    print(f"costlake CUR benchmark: {result['months']} months, {result['cpus']} CPUs")
    print(f"{'step':<26}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MiB':>14}")
    for name, step in result["steps"].items():
        print(f"{name:<26}{num(step['rows'], ',d'):>12}{num(step['seconds'], '.2f'):>10}"
              f"{num(step['rows_per_second'], ',.0f'):>12}{num(step['peak_rss_mib'], ',.0f'):>14}")
        if step["error"]:
            print(f"  {name} did not complete:\n{step['error']}")
    label = {True: "PASS", False: "FAIL", None: "not measured"}
    checks, steps = result["checks"], result["steps"]
    print(f"\nthroughput: sync at {num(result['sync_share_of_baseline'], '.0%')} of the DuckDB copy's rows/s "
          f"(target >= {TARGET_SHARE:.0%}): {label[checks['throughput']]}")
    print(f"memory: sync peak RSS {num(steps['sync']['peak_rss_mib'], ',.0f')} MiB "
          f"(limit {RSS_LIMIT_MIB:,} MiB): {label[checks['memory']]}")
    print(f"rows: {label[checks['row_count']]}")
    if "vs_focus_converter" in checks:
        versus, legacy_sync = result["legacy_sync_vs"], steps["legacy_sync"]
        in_run = legacy_sync["detail"].get("in_run_seconds")
        in_run_rate = legacy_sync["rows"] / in_run if legacy_sync["rows"] and in_run else None
        print(f"legacy CUR CSV: costlake {num(legacy_sync['rows_per_second'], ',.0f')} rows/s for the whole CLI command "
              f"({num(in_run_rate, ',.0f')} rows/s in the sync run itself); rows {label[checks['legacy_row_count']]}")
        print(f"  vs focus-converter, fastest mode: {num(versus['focus_converter'], '.2f')}x; with its defaults: "
              f"{num(versus['focus_converter_defaults'], '.2f')}x (target >= {TARGET_VS_FOCUS_CONVERTER:g}x against the "
              f"fastest): {label[checks['vs_focus_converter']]}")
    print(f"verdict: {result['verdict']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="usage rows in the export (default 5,000,000)")
    parser.add_argument("--months", type=int, default=2, help="billing months, ending this UTC month (default 2)")
    parser.add_argument("--subset-rows", type=int, default=SUBSET_ROWS,
                        help="rows of the legacy CUR CSV for the focus-converter comparison (default 500,000)")
    parser.add_argument("--no-comparison", action="store_true", help="skip the focus-converter comparison")
    parser.add_argument("--focus-converter-venv", type=Path, default=DEFAULT_VENV,
                        help=f"venv holding focus-converter 1.0.0, created on first use (default {DEFAULT_VENV})")
    parser.add_argument("--workdir", type=Path, help="where to create the run's folder (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the export, CSV, outputs and costlake homes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)  # internal: a child process's step
    args = parser.parse_args()

    if args.step:
        name, *params = args.step
        children = {"generate": lambda: child_generate(Path(params[0]), int(params[1]), int(params[2])),
                    "baseline": lambda: child_baseline(Path(params[0]), Path(params[1])),
                    "legacy_csv": lambda: child_legacy_csv(Path(params[0]), Path(params[1]), int(params[2]))}
        print(json.dumps(children[name]()))
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
            if not args.no_comparison:
                steps |= compare_with_focus_converter(run_dir, root / "data", args.subset_rows, args.focus_converter_venv)
        result = report(steps, args.months)
        show(result, print_table, as_json=args.json, kept=run_dir if args.keep else None)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
