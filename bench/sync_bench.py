#!/usr/bin/env python3
"""Sync throughput benchmark: costlake's sync next to this machine's limit, DuckDB copying the same Parquet files.

Not a test (timings depend on the machine): run it by hand, see docs/benchmarks.md. Every measured step runs in a
fresh child process and its peak RSS comes from that child's own rusage (os.wait4), so no step inherits another's
memory. Steps: generate the FOCUS export, copy it with DuckDB (the limit), sync it with the costlake CLI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGET_SHARE = 0.60  # the sync must reach this share of the baseline's rows/s
RSS_LIMIT_MIB = 1536  # 1.5 GiB peak RSS for the sync
SEED = 42


@dataclass
class Step:
    name: str
    rows: int | None = None
    seconds: float | None = None
    peak_rss_mib: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


@dataclass
class Measured:
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run `cmd` as a child process: wall seconds and the peak RSS of that child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
        out.seek(0)
        err.seek(0)
        rss_unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        return Measured(seconds, usage.ru_maxrss / rss_unit, proc.returncode,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def last_json(text: str) -> dict[str, Any]:
    """The last top-level JSON object printed (the CLI pretty-prints; a sync may print the run twice)."""
    decoder, found, i = json.JSONDecoder(), None, 0
    while (start := text.find("{", i)) != -1:
        try:
            found, i = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
    if found is None:
        raise ValueError(f"no JSON object in output: {text[-500:]!r}")
    return found


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- steps run inside the child processes -------------------------------------------------------------------------

def child_generate(export: Path, rows: int, months: int) -> dict[str, Any]:
    from costlake.samples import generate_focus_export

    rows_per_month = math.ceil(rows / months)
    start = time.perf_counter()
    files = generate_focus_export(export, end_month=datetime.now(UTC).date().replace(day=1), months=months,
                                  rows_per_month=rows_per_month, seed=SEED, file_format="parquet")
    seconds = time.perf_counter() - start
    return {"rows": rows_per_month * months, "files": len(files), "seconds": seconds,
            "bytes": sum(f.stat().st_size for f in files)}


def child_baseline(export: Path, target: Path) -> dict[str, Any]:
    """DuckDB's own Parquet-to-Parquet copy of exactly the export's files: what this machine can do."""
    import duckdb

    files = sorted(str(p) for p in export.rglob("*.parquet"))
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # only what it prints; otherwise DuckDB's defaults
    start = time.perf_counter()
    rows = con.execute(f"COPY (SELECT * FROM read_parquet([{listed}], hive_partitioning = false)) "
                       f"TO '{target}' (FORMAT parquet)").fetchall()[0][0]
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "files": len(files), "duckdb": duckdb.__version__}


# --- the orchestrating process ------------------------------------------------------------------------------------

def measure_child(name: str, args: list[str]) -> Step:
    m = run_measured([sys.executable, __file__, "--step", *args])
    if m.returncode != 0:
        return Step(name, peak_rss_mib=m.peak_rss_mib, error=tail(m.stderr))
    info = last_json(m.stdout)
    return Step(name, rows=info["rows"], seconds=info["seconds"], peak_rss_mib=m.peak_rss_mib,
                detail={k: v for k, v in info.items() if k not in ("rows", "seconds")} | {"wall_seconds": m.seconds})


def costlake_command() -> list[str]:
    exe = shutil.which("costlake")
    return [exe] if exe else [sys.executable, "-c", "from costlake.cli.main import main; main()"]


def measure_sync(export: Path, home: Path, source_format: str = "focus") -> Step:
    """Set up a throwaway home through the CLI, then time `billing-source sync --wait` alone."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("COSTLAKE_URL", "COSTLAKE_TOKEN", "COSTLAKE_DATABASE_URL", "COSTLAKE_LAKE_URI")}
    env["COSTLAKE_HOME"] = str(home)
    cli = costlake_command()
    setup = [["init"], ["tenant", "create", "bench"],
             ["billing-source", "add", "--tenant", "bench", "--provider", "aws", "--source-uri", str(export),
              "--format", source_format]]
    for args in setup:
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return Step("sync", error=f"`costlake {' '.join(args)}` failed:\n{tail(done.stderr or done.stdout)}")
    source_id = last_json(done.stdout)["id"]
    m = run_measured([*cli, "billing-source", "sync", "--tenant", "bench", source_id, "--wait"], env=env)
    if m.returncode != 0:
        return Step("sync", seconds=m.seconds, peak_rss_mib=m.peak_rss_mib,
                    error=f"`costlake billing-source sync` exited {m.returncode}:\n{tail(m.stderr or m.stdout)}")
    run = last_json(m.stdout)
    in_run = (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    step = Step("sync", rows=run["row_count"], seconds=m.seconds, peak_rss_mib=m.peak_rss_mib,
                detail={"status": run["status"], "files": run.get("files"), "in_run_seconds": in_run,
                        "billed_cost_by_month": run.get("billed_cost_by_month")})
    if run["status"] not in ("succeeded", "warning"):
        step.error = f"sync ended {run['status']}: {run.get('error')}"
    return step


def report(steps: dict[str, Step], rows: int, months: int) -> dict[str, Any]:
    base, sync = steps["baseline"], steps["sync"]
    share = (sync.rows_per_second / base.rows_per_second
             if sync.rows_per_second and base.rows_per_second and not sync.error else None)
    checks = {
        "throughput": None if share is None else share >= TARGET_SHARE,
        "memory": None if sync.peak_rss_mib is None or sync.error else sync.peak_rss_mib < RSS_LIMIT_MIB,
        "row_count": None if sync.rows is None else sync.rows == steps["generate"].rows,
    }
    verdict = "PASS" if all(checks.values()) else "FAIL" if False in checks.values() else "INCOMPLETE"
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "duckdb": base.detail.get("duckdb")},
        "rows_requested": rows, "months": months,
        "steps": {name: asdict(s) | {"rows_per_second": s.rows_per_second} for name, s in steps.items()},
        "sync_share_of_baseline": share,
        "targets": {"share_of_baseline": TARGET_SHARE, "peak_rss_mib": RSS_LIMIT_MIB},
        "checks": checks, "verdict": verdict,
    }


def print_table(result: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    m = result["machine"]
    print(f"costlake sync benchmark: {result['rows_requested']:,} rows over {result['months']} months, "
          f"{m['cpus']} CPUs, DuckDB {m['duckdb']}, Python {m['python']}")
    base_rate = result["steps"]["baseline"]["rows_per_second"]
    print(f"{'step':<10}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MiB':>14}{'of baseline':>13}")
    for name, s in result["steps"].items():
        share = s["rows_per_second"] / base_rate if s["rows_per_second"] and base_rate and name != "generate" else None
        print(f"{name:<10}{num(s['rows'], ',d'):>12}{num(s['seconds'], '.2f'):>10}"
              f"{num(s['rows_per_second'], ',.0f'):>12}{num(s['peak_rss_mib'], ',.0f'):>14}{num(share, '.0%'):>13}")
    for s in result["steps"].values():
        if s["error"]:
            print(f"\n{s['name']} did not complete:\n{s['error']}")
    checks, sync = result["checks"], result["steps"]["sync"]
    label = {True: "PASS", False: "FAIL", None: "not measured"}
    print(f"\nthroughput: sync at {num(result['sync_share_of_baseline'], '.0%')} of the baseline's rows/s "
          f"(target >= {TARGET_SHARE:.0%}): {label[checks['throughput']]}")
    print(f"memory: sync peak RSS {num(sync['peak_rss_mib'], ',.0f')} MiB (limit {RSS_LIMIT_MIB:,} MiB): "
          f"{label[checks['memory']]}")
    print(f"rows: sync loaded {num(sync['rows'], ',d')} of {num(result['steps']['generate']['rows'], ',d')}: "
          f"{label[checks['row_count']]}")
    print(f"verdict: {result['verdict']}")


def show(result: dict[str, Any], print_table: Callable[[dict[str, Any]], None], *, as_json: bool, kept: Path | None) -> None:
    """A benchmark's result as JSON or as its table (shared by every script under bench/)."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print_table(result)
    if kept is not None:
        print(f"kept: {kept}")


def exit_code(result: dict[str, Any]) -> int:
    return {"PASS": 0, "FAIL": 1}.get(result["verdict"], 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the export (default 5,000,000)")
    parser.add_argument("--months", type=int, default=3, help="billing months, ending this UTC month (default 3)")
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
    run_dir = Path(tempfile.mkdtemp(prefix="costlake-bench-", dir=args.workdir))
    export, home = run_dir / "export", run_dir / "home"
    try:
        steps = {"generate": measure_child("generate", ["generate", str(export), str(args.rows), str(args.months)])}
        if steps["generate"].error:
            steps["baseline"] = Step("baseline", error="skipped: no export")
            steps["sync"] = Step("sync", error="skipped: no export")
        else:
            steps["baseline"] = measure_child("baseline", ["baseline", str(export), str(run_dir / "baseline.parquet")])
            steps["sync"] = measure_sync(export, home)
        result = report(steps, args.rows, args.months)
        result["workdir"] = str(run_dir) if args.keep else None
        show(result, print_table, as_json=args.json, kept=run_dir if args.keep else None)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
