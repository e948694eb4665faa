#!/usr/bin/env python3
"""Explorer query latency: the cost query API next to DuckDB running the same queries by hand on the same files.

Not a test (timings depend on the machine): run it by hand, see docs/benchmarks.md. Steps: generate a FOCUS export,
sync it into a throwaway home with the costlake CLI, start `costlake serve`, then time three explorer queries
through the HTTP API and, interleaved with them, the equivalent hand-written SQL in a separate DuckDB process that
reads the table's current Parquet files. Every step is its own child process, reaped with os.wait4, so each peak
RSS is that process's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync_bench import (
    Step,
    costlake_command,
    exit_code,
    last_json,
    run_measured,
    show,
    tail,
)

MONTHS = 3  # the queries below are written for three billing months ending this UTC month
RUNS, WARMUPS = 15, 2
MEDIAN_TARGET_MS = 250.0  # daily x ServiceName for one month, through the API
RATIO_TARGET = 1.5  # API median / DuckDB median, every query
SEED = 42
SERVER_START_SECONDS = 120
CLEAN_ENV = ("COSTLAKE_URL", "COSTLAKE_TOKEN", "COSTLAKE_DATABASE_URL", "COSTLAKE_LAKE_URI")


# --- the queries -------------------------------------------------------------------------------------------------

def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def ts(day: date) -> str:
    return f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'"


def distinct(body: dict[str, Any], n: int) -> dict[str, Any]:
    """The same query with a filter that matches every row: the same work, but an answer no cache holds. A repeat
    would be answered from the answers kept per table version (issue 14), and those are not what is measured; what
    a server keeps per table version besides answers (file metadata, tag coverage) stays, as in real use."""
    return {**body, "filters": [*body.get("filters", []), {"dimension": "ServiceName", "op": "ne", "values": [f"no-such-service-{n}"]}]}


def queries(end_month: date) -> list[dict[str, Any]]:
    """Each query as the API body and as the SQL a person would write for it (same rows, same order of columns:
    period, the groups, currency, cost, other)."""
    first, after = add_months(end_month, 1 - MONTHS), add_months(end_month, 1)
    scan = "read_parquet($files, hive_partitioning = true)"
    return [
        {
            "name": "daily_service",
            "label": f"daily x ServiceName, {end_month:%Y-%m}",
            "body": {"granularity": "day", "group_by": ["ServiceName"], "start": end_month.isoformat(),
                     "end": after.isoformat()},
            "group_by": ["ServiceName"],
            "sql": f"""
SELECT CAST(date_trunc('day', make_timestamp(epoch_us(ChargePeriodStart))) AS DATE) AS day, ServiceName, BillingCurrency AS currency,
       sum(EffectiveCost) AS cost, false AS other
FROM {scan}
WHERE ChargePeriodStart >= {ts(end_month)} AND ChargePeriodStart < {ts(after)}
GROUP BY ALL ORDER BY day, currency, cost DESC""",
        },
        {
            "name": "monthly_team",
            "label": f"monthly x tag:team, {first:%Y-%m}..{end_month:%Y-%m}",
            "body": {"granularity": "month", "group_by": ["tag:team"], "start": first.isoformat(),
                     "end": after.isoformat()},
            "group_by": ["tag:team"],
            "sql": f"""
SELECT CAST(date_trunc('month', make_timestamp(epoch_us(ChargePeriodStart))) AS DATE) AS month, Tags['team'] AS team,
       BillingCurrency AS currency, sum(EffectiveCost) AS cost, false AS other
FROM {scan}
WHERE ChargePeriodStart >= {ts(first)} AND ChargePeriodStart < {ts(after)}
GROUP BY ALL ORDER BY month, currency, cost DESC""",
        },
        {
            "name": "top_resources",
            "label": f"top 10 ResourceId, {first:%Y-%m}..{end_month:%Y-%m}",
            "body": {"granularity": "none", "group_by": ["ResourceId"], "top": 10, "start": first.isoformat(),
                     "end": after.isoformat()},
            "group_by": ["ResourceId"],
            # Top 10 per currency, the rest summed into one "other" row per currency, as the API defines `top`.
            "sql": f"""
WITH per_resource AS (
  SELECT ResourceId, BillingCurrency AS currency, sum(EffectiveCost) AS cost
  FROM {scan}
  WHERE ChargePeriodStart >= {ts(first)} AND ChargePeriodStart < {ts(after)}
  GROUP BY ALL
), ranked AS (
  SELECT *, row_number() OVER (PARTITION BY currency ORDER BY cost DESC, ResourceId) AS rank FROM per_resource
)
SELECT NULL::DATE AS period, CASE WHEN rank <= 10 THEN ResourceId END AS ResourceId, currency, sum(cost) AS cost,
       rank > 10 AS other
FROM ranked GROUP BY ALL ORDER BY other, currency, cost DESC""",
        },
    ]


# --- measuring child processes ------------------------------------------------------------------------------------

RSS_UNIT = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def reap(proc: subprocess.Popen[Any]) -> tuple[int, float]:
    """Wait for a child with os.wait4: its exit code and its own peak RSS in MiB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    return proc.returncode, usage.ru_maxrss / RSS_UNIT


# --- steps run inside the child processes -------------------------------------------------------------------------

def child_generate(export: Path, rows: int, end_month: date) -> dict[str, Any]:
    from costlake.samples import generate_focus_export

    rows_per_month = math.ceil(rows / MONTHS)
    start = time.perf_counter()
    files = generate_focus_export(export, end_month=end_month, months=MONTHS, rows_per_month=rows_per_month,
                                  seed=SEED, file_format="parquet")
    seconds = time.perf_counter() - start
    return {"rows": rows_per_month * MONTHS, "files": len(files), "seconds": seconds,
            "bytes": sum(f.stat().st_size for f in files)}


def plain(value: Any) -> Any:
    """A result cell as JSON: exact decimals and dates as text."""
    return str(value) if isinstance(value, Decimal | date) else value


def child_duckdb(table_uri: str, end_month: date, queries_of: Any = None) -> None:
    """The hand-written side. Lists the table's files once, then answers one query name per stdin line with one
    JSON line: the seconds of execute + fetchall, and the rows. Exits at end of input. `queries_of(end_month)`:
    another benchmark's queries (default: this one's)."""
    import duckdb
    from deltalake import DeltaTable

    files = DeltaTable(table_uri).file_uris()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")  # UTC days and months, as the API buckets them
    con.execute("SET parquet_metadata_cache = true")  # as costlake's reader does: the stricter baseline
    by_name = {q["name"]: q["sql"] for q in (queries_of or queries)(end_month)}
    facts = con.execute(
        "SELECT count(*), count(DISTINCT ResourceId), count(DISTINCT ServiceName), count(Tags), "
        "count(Tags['team']), count(DISTINCT Tags['team']), "
        "CAST(sum(abs(EffectiveCost)) FILTER (WHERE Tags['team'] IS NOT NULL) / sum(abs(EffectiveCost)) AS DOUBLE), "
        "CAST(sum(abs(EffectiveCost)) FILTER (WHERE Tags IS NOT NULL AND cardinality(Tags) > 0) "
        "/ sum(abs(EffectiveCost)) AS DOUBLE), count(DISTINCT BillingCurrency) "
        "FROM read_parquet($files, hive_partitioning = true)", {"files": files}).fetchone() or ()
    keys = ("rows", "resource_ids", "services", "rows_with_tags", "rows_with_team", "teams", "team_cost_share",
            "tagged_cost_share", "currencies")
    info = dict(zip(keys, facts, strict=True)) | {
        "files": len(files), "bytes": sum(os.path.getsize(f.removeprefix("file://")) for f in files),
        "duckdb": duckdb.__version__}
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        start = time.perf_counter()
        rows = con.execute(by_name[name], {"files": files}).fetchall()
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "rows": [[plain(v) for v in row] for row in rows]}), flush=True)


# --- the orchestrating process ------------------------------------------------------------------------------------

def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env["COSTLAKE_HOME"] = str(home)
    return env


def measure_generate(export: Path, rows: int, end_month: date) -> Step:
    m = run_measured([sys.executable, __file__, "--step", "generate", str(export), str(rows), end_month.isoformat()])
    if m.returncode != 0:
        return Step("generate", peak_rss_mib=m.peak_rss_mib, error=tail(m.stderr))
    info = last_json(m.stdout)
    return Step("generate", rows=info["rows"], seconds=info["seconds"], peak_rss_mib=m.peak_rss_mib,
                detail={"files": info["files"], "bytes": info["bytes"], "wall_seconds": m.seconds})


def measure_sync(export: Path, home: Path) -> tuple[Step, dict[str, Any]]:
    """Set up a throwaway home through the CLI (tenant, member token, source), then `billing-source sync --wait`."""
    env, cli = cli_env(home), costlake_command()
    out: dict[str, Any] = {}
    setup = [("init", ["init"]), ("tenant", ["tenant", "create", "bench"]),
             ("token", ["token", "create", "--tenant", "bench", "--role", "member"]),
             ("source", ["billing-source", "add", "--tenant", "bench", "--provider", "aws",
                         "--source-uri", str(export), "--format", "focus"])]
    for key, args in setup:
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return Step("sync", error=f"`costlake {' '.join(args)}` failed:\n{tail(done.stderr or done.stdout)}"), out
        out[key] = last_json(done.stdout)
    m = run_measured([*cli, "billing-source", "sync", "--tenant", "bench", out["source"]["id"], "--wait"], env=env)
    if m.returncode != 0:
        return Step("sync", seconds=m.seconds, peak_rss_mib=m.peak_rss_mib,
                    error=f"`costlake billing-source sync` exited {m.returncode}:\n{tail(m.stderr or m.stdout)}"), out
    run = last_json(m.stdout)
    step = Step("sync", rows=run["row_count"], seconds=m.seconds, peak_rss_mib=m.peak_rss_mib,
                detail={"status": run["status"], "files": run.get("files")})
    if run["status"] not in ("succeeded", "warning"):
        step.error = f"sync ended {run['status']}: {run.get('error')}"
    return step, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`costlake serve` on a free port (with `extra` environment variables), its output in a file; stopped with
    SIGTERM and reaped with os.wait4."""

    def __init__(self, home: Path, log: Path, extra: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen([*costlake_command(), "serve", "--port", str(self.port)], env={**cli_env(home), **(extra or {})},
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.log_path = log

    def wait_ready(self, client: Any) -> None:
        import httpx

        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"costlake serve exited {self.proc.returncode}:\n{tail(self.log_path.read_text())}")
            with contextlib.suppress(OSError, httpx.HTTPError):  # not listening yet
                if client.get("/api/v1/me").status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"costlake serve did not answer within {SERVER_START_SECONDS} s")

    def stop(self) -> float | None:
        """Stop the server; its peak RSS in MiB."""
        if self.proc.returncode is not None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, rss = reap(self.proc)
        finally:
            self._log.close()
        return rss


class HandWritten:
    """The DuckDB child process of child_duckdb, driven line by line."""

    def __init__(self, table_uri: str, end_month: date, script: str = __file__) -> None:
        self.proc = subprocess.Popen([sys.executable, script, "--step", "duckdb", table_uri, end_month.isoformat()],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.facts = self._reply()

    def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout and self.proc.stderr
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the DuckDB process ended:\n{tail(self.proc.stderr.read())}")
        return json.loads(line)

    def run(self, name: str) -> dict[str, Any]:
        assert self.proc.stdin
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> float:
        assert self.proc.stdin
        self.proc.stdin.close()
        _, rss = reap(self.proc)
        return rss


def canonical(rows: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    """Rows as (period, groups..., currency, cost, other), comparable whatever the order and decimal notation."""
    return Counter((*row[:-2], Decimal(row[-2]), bool(row[-1])) for row in rows)


def totals_of(rows: list[list[Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row[-3]] += Decimal(row[-2])
    return dict(sorted(totals.items()))


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank: the 14th of 15
    return {"median": statistics.median(ordered), "p90": p90, "min": ordered[0], "max": ordered[-1]}


def measure_queries(client: Any, tenant_id: str, duck: HandWritten, end_month: date, runs: int) -> dict[str, Any]:
    """Per query: 2 warm-ups each side, then `runs` pairs, API then DuckDB, so both see the same machine."""
    path = f"/api/v1/tenants/{tenant_id}/costs/query"
    results: dict[str, Any] = {}
    for q in queries(end_month):
        api_ms, engine_ms, duck_ms = [], [], []
        api_body: dict[str, Any] = {}
        duck_rows: list[list[Any]] = []
        for i in range(WARMUPS + runs):
            start = time.perf_counter()
            response = client.post(path, json=distinct(q["body"], i))
            response.raise_for_status()
            api_body = response.json()
            elapsed = (time.perf_counter() - start) * 1000
            reply = duck.run(q["name"])
            duck_rows = reply["rows"]
            if i >= WARMUPS:
                api_ms.append(elapsed)
                engine_ms.append(api_body["elapsed_ms"])
                duck_ms.append(reply["seconds"] * 1000)
        api_rows = [[r["period"], *(r[g] for g in q["group_by"]), r["currency"], r["cost"], r["other"]]
                    for r in api_body["rows"]]
        api_totals = {c: Decimal(v) for c, v in api_body["totals"].items()}
        duck_totals = totals_of(duck_rows)
        api, duck_s = summary(api_ms), summary(duck_ms)
        results[q["name"]] = {
            "label": q["label"], "body": q["body"], "sql": q["sql"].strip(),
            "api_ms": api, "engine_ms": summary(engine_ms), "duckdb_ms": duck_s,
            "ratio": api["median"] / duck_s["median"],
            "result_rows": len(api_rows), "response_bytes": len(response.content),
            "totals": {c: str(v) for c, v in api_totals.items()},
            "totals_match": api_totals == duck_totals,
            "rows_match": canonical(api_rows) == canonical(duck_rows),
            "samples": {"api_ms": api_ms, "engine_ms": engine_ms, "duckdb_ms": duck_ms},
        }
        if not results[q["name"]]["totals_match"]:
            results[q["name"]]["duckdb_totals"] = {c: str(v) for c, v in duck_totals.items()}
    return results


def report(steps: dict[str, Step], measured: dict[str, Any], facts: dict[str, Any], rows: int,
           runs: int) -> dict[str, Any]:
    daily = measured.get("daily_service")
    checks: dict[str, bool | None] = {
        "rows_synced": None if steps["sync"].rows is None or steps["generate"].rows is None
        else steps["sync"].rows == steps["generate"].rows,
        "daily_service_median": None if daily is None else daily["api_ms"]["median"] < MEDIAN_TARGET_MS,
    }
    for name, q in measured.items():
        checks[f"{name}_ratio"] = q["ratio"] <= RATIO_TARGET
    for name, q in measured.items():
        checks[f"{name}_totals"] = q["totals_match"]
        checks[f"{name}_rows"] = q["rows_match"]
    if not measured:
        checks["queries"] = None
    verdict = "FAIL" if False in checks.values() else "PASS" if all(checks.values()) else "INCOMPLETE"
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "duckdb": facts.get("duckdb")},
        "rows_requested": rows, "months": MONTHS, "runs": runs, "warmups": WARMUPS,
        "steps": {name: asdict(s) for name, s in steps.items()},
        "dataset": facts, "queries": measured,
        "targets": {"daily_service_median_ms": MEDIAN_TARGET_MS, "api_over_duckdb": RATIO_TARGET},
        "checks": checks, "verdict": verdict,
    }


def print_table(result: dict[str, Any]) -> None:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    m, d = result["machine"], result["dataset"]
    print(f"costlake query benchmark: {result['rows_requested']:,} rows over {result['months']} months, "
          f"{m['cpus']} CPUs, DuckDB {m['duckdb']}, Python {m['python']}")
    for s in result["steps"].values():
        print(f"  {s['name']:<9} rows {num(s['rows'], ',d'):>11}  {num(s['seconds'], '.1f'):>6} s  "
              f"peak RSS {num(s['peak_rss_mib'], ',.0f'):>6} MiB")
    if d:
        print(f"  table: {d['files']} files, {d['bytes'] / 2**20:,.0f} MiB; {d['resource_ids']:,} distinct ResourceId, "
              f"{d['services']} services, {d['currencies']} currencies; Tags on {d['rows_with_tags'] / d['rows']:.0%} "
              f"of rows, tag team on {d['rows_with_team'] / d['rows']:.0%} of rows and {d['team_cost_share']:.0%} "
              f"of cost ({d['teams']} teams)")
    if result["queries"]:
        print(f"\nms over {result['runs']} runs after {result['warmups']} warm-ups, API and DuckDB interleaved")
        print(f"{'query':<44}{'API med':>9}{'p90':>8}{'engine':>8}{'DuckDB med':>12}{'p90':>8}{'ratio':>7}"
              f"{'rows':>6}{'totals':>8}")
        for q in result["queries"].values():
            print(f"{q['label']:<44}{q['api_ms']['median']:>9.1f}{q['api_ms']['p90']:>8.1f}"
                  f"{q['engine_ms']['median']:>8.1f}{q['duckdb_ms']['median']:>12.1f}{q['duckdb_ms']['p90']:>8.1f}"
                  f"{q['ratio']:>6.2f}x{q['result_rows']:>6}{'same' if q['totals_match'] else 'DIFFER':>8}")
    for s in result["steps"].values():
        if s["error"]:
            print(f"\n{s['name']} did not complete:\n{s['error']}")
    label = {True: "PASS", False: "FAIL", None: "not measured"}
    print()
    for name, ok in result["checks"].items():
        print(f"{name}: {label[ok]}")
    print(f"verdict: {result['verdict']} (targets: daily x ServiceName median < {MEDIAN_TARGET_MS:.0f} ms, "
          f"API <= {RATIO_TARGET}x DuckDB, totals and rows equal)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the export (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"measured runs per query and side (default {RUNS})")
    parser.add_argument("--workdir", type=Path, help="where to create the run's folder (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the export and costlake home")
    parser.add_argument("--reuse", type=Path, metavar="RUN_DIR",
                        help="measure a folder an earlier --keep run left (skips generating and syncing)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)  # internal: a child process's step
    args = parser.parse_args()

    if args.step:
        name, *params = args.step
        if name == "generate":
            print(json.dumps(child_generate(Path(params[0]), int(params[1]), date.fromisoformat(params[2]))))
        else:
            child_duckdb(params[0], date.fromisoformat(params[1]))
        return 0

    import httpx

    if args.reuse:
        run_dir = args.reuse.resolve()
        saved = json.loads((run_dir / "bench.json").read_text())
        end_month, setup = date.fromisoformat(saved["end_month"]), saved["setup"]
        steps = {name: Step(**s) for name, s in saved["steps"].items()}
    else:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="costlake-query-bench-", dir=args.workdir))
        end_month = datetime.now(UTC).date().replace(day=1)
        setup = {}
    export, home = run_dir / "export", run_dir / "home"
    measured: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    try:
        if not args.reuse:
            steps = {"generate": measure_generate(export, args.rows, end_month)}
            if steps["generate"].error:
                steps["sync"] = Step("sync", error="skipped: no export")
            else:
                steps["sync"], setup = measure_sync(export, home)
            (run_dir / "bench.json").write_text(json.dumps(
                {"end_month": end_month.isoformat(), "setup": setup,
                 "steps": {name: asdict(s) for name, s in steps.items()}}))
        if not steps["sync"].error:
            tenant_id = setup["tenant"]["id"]
            server = Server(home, run_dir / "serve.log")
            duck: HandWritten | None = None
            headers = {"Authorization": f"Bearer {setup['token']['token']}"}
            try:
                with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
                    server.wait_ready(client)
                    duck = HandWritten(str(home / "lake" / tenant_id), end_month)
                    facts = duck.facts
                    measured = measure_queries(client, tenant_id, duck, end_month, args.runs)
            except Exception as error:  # noqa: BLE001 - reported as an incomplete step
                steps["queries"] = Step("queries", error=f"{type(error).__name__}: {error}")
            finally:
                steps["serve"] = Step("serve", peak_rss_mib=server.stop(), detail={"port": server.port})
                if duck is not None:
                    steps["duckdb"] = Step("duckdb", peak_rss_mib=duck.close())
        result = report(steps, measured, facts, args.rows, args.runs)
        result["workdir"] = str(run_dir) if args.keep or args.reuse else None
        show(result, print_table, as_json=args.json, kept=run_dir if args.keep else None)
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(run_dir, ignore_errors=True)
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
