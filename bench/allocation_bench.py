#!/usr/bin/env python3
"""Allocation query latency: daily x dim:team under a published version of 5 dimensions, 200 rules and 2 splits,
next to the same query grouped by the raw tag (through the API and by hand in DuckDB), and a rule edit + preview.

Not a test (timings depend on the machine): run it by hand, see docs/benchmarks.md. It shares query_bench.py's
steps: generate a FOCUS export, sync it with the costlake CLI, start `costlake serve`, and a separate DuckDB process
that reads the table's current Parquet files. Before serving, the rules are applied and published with the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from query_bench import (
    MONTHS,
    WARMUPS,
    HandWritten,
    Server,
    add_months,
    child_duckdb,
    cli_env,
    distinct,
    measure_generate,
    measure_sync,
    summary,
    totals_of,
    ts,
)
from sync_bench import Step, costlake_command, exit_code, last_json, show, tail

from costlake.samples import catalog

RUNS, EDIT_RUNS = 15, 5
MEDIAN_TARGET_MS = 400.0  # daily x dim:team for one month, through the API
RATIO_TARGET = 2.0  # dim:team median / tag:team median, both through the API
EDIT_TARGET_MS = 3000.0  # PUT draft with one rule changed + POST preview over the default three months
RULES, DIMENSIONS = 200, 5


# --- the rules -----------------------------------------------------------------------------------------------------

def condition(value: str, *filters: tuple[str, str]) -> dict[str, Any]:
    return {"when": [{"dimension": dim, "op": "eq", "values": [v]} for dim, v in filters], "value": value}


def rules() -> dict[str, Any]:
    """5 dimensions, 200 rules, 2 splits over the generator's own tags, accounts and services."""
    accounts = [a.id for a in catalog.SUB_ACCOUNTS]
    services = [s.name for s in catalog.SERVICES]
    teams = sorted(set(catalog.APPS.values()))
    cost_center = {"name": "cost_center", "rules": [
        {"coalesce": ["cost-center", "costcenter"], "flexible": True, "transform": ["trim", "upper"]},
        {"coalesce": ["owner"], "transform": [{"regex_extract": "^([a-z]+)@", "group": 1}],
         "map": {team: cc for team, cc in catalog.COST_CENTERS.items()}},
    ]}
    env = {"name": "env", "fallback": "unknown", "rules": [
        {"coalesce": ["env", "environment"], "flexible": True, "transform": ["trim", "lower"],
         "map": {"prd": "prod", "production": "prod", "stg": "staging", "development": "dev"}},
        *(condition(a.env, ("SubAccountId", a.id)) for a in catalog.SUB_ACCOUNTS),
    ]}
    product = {"name": "product", "rules": [condition(s.category.lower(), ("ServiceName", s.name)) for s in catalog.SERVICES]}
    owner = {"name": "owner", "rules": [
        {"coalesce": ["owner"], "transform": ["lower"]},
        {"from_dimension": "team", "map": {team: f"{team}@acme.example" for team in teams}},
    ]}
    team: dict[str, Any] = {"name": "team", "rules": [
        {"coalesce": ["team"], "flexible": True, "transform": ["trim", "lower"], "map": {"web": "web-team"}},
        {"from_dimension": "cost_center", "map": {cc: team for team, cc in catalog.COST_CENTERS.items()}},
    ], "splits": [
        {"when": [{"dimension": "dim:team", "op": "eq", "values": ["Unallocated"]}], "method": "proportional",
         "granularity": "month", "name": "untagged"},
        {"when": [{"dimension": "ServiceName", "op": "eq", "values": [services[-1]]}], "method": "even",
         "granularity": "day", "name": "shared service"},
    ]}
    others = sum(len(d["rules"]) for d in (cost_center, env, product, owner)) + len(team["rules"])
    pairs = [(a, s) for a in accounts for s in services]
    team["rules"] += [condition(teams[i % len(teams)], ("SubAccountId", a), ("ServiceName", s))
                      for i, (a, s) in enumerate(pairs[: RULES - others])]
    dimensions = [cost_center, team, env, product, owner]
    assert len(dimensions) == DIMENSIONS and sum(len(d["rules"]) for d in dimensions) == RULES
    return {"dimensions": dimensions}


def edited(draft: dict[str, Any], run: int) -> dict[str, Any]:
    """The draft with one rule changed: the team coalesce's map sends web to another name on every run."""
    dimensions = json.loads(json.dumps(draft["dimensions"]))
    team = next(d for d in dimensions if d["name"] == "team")
    team["rules"][0]["map"] = {"web": f"web-team-{run}"}
    return {"dimensions": dimensions}


# --- the queries ---------------------------------------------------------------------------------------------------

def bodies(end_month: date) -> dict[str, dict[str, Any]]:
    window = {"granularity": "day", "start": end_month.isoformat(), "end": add_months(end_month, 1).isoformat()}
    return {"dim_team": {**window, "group_by": ["dim:team"]}, "tag_team": {**window, "group_by": ["tag:team"]}}


def duck_queries(end_month: date) -> list[dict[str, Any]]:
    """The raw baseline of query_bench.py for the tag query: DuckDB by hand over the same Parquet files."""
    after = add_months(end_month, 1)
    return [{"name": "tag_team", "sql": f"""
SELECT CAST(date_trunc('day', make_timestamp(epoch_us(ChargePeriodStart))) AS DATE) AS day, Tags['team'] AS team,
       BillingCurrency AS currency, sum(EffectiveCost) AS cost, false AS other
FROM read_parquet($files, hive_partitioning = true)
WHERE ChargePeriodStart >= {ts(end_month)} AND ChargePeriodStart < {ts(after)}
GROUP BY ALL ORDER BY day, currency, cost DESC"""}]


def publish(home: Path, run_dir: Path) -> tuple[Step, str | None]:
    """Apply and publish the rules with the CLI (in-process on the home), and make an admin token for edits."""
    env, cli = cli_env(home), costlake_command()
    path = run_dir / "rules.json"
    path.write_text(json.dumps(rules()))
    start = time.perf_counter()
    token = None
    for args in (["allocation", "apply", "--tenant", "bench", "-f", str(path)],
                 ["allocation", "publish", "--tenant", "bench"],
                 ["token", "create", "--tenant", "bench", "--role", "admin"]):
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return Step("publish", error=f"`costlake {' '.join(args)}` failed:\n{tail(done.stderr or done.stdout)}"), None
        if args[0] == "token":
            token = last_json(done.stdout)["token"]
    return Step("publish", seconds=time.perf_counter() - start,
                detail={"dimensions": DIMENSIONS, "rules": RULES, "splits": 2}), token


def measure(client: Any, admin: Any, tenant_id: str, duck: HandWritten, end_month: date, runs: int) -> dict[str, Any]:
    """Rounds of: API dim:team, API tag:team, DuckDB tag:team (so all three see the same machine); then edits."""
    path = f"/api/v1/tenants/{tenant_id}"
    samples: dict[str, list[float]] = {"dim_team": [], "tag_team": [], "duckdb_tag_team": []}
    warmups: dict[str, list[float]] = {"dim_team": [], "tag_team": []}  # the first after start: no fold yet
    answers: dict[str, Any] = {}
    duck_rows: list[list[Any]] = []
    for i in range(WARMUPS + runs):
        for name, body in bodies(end_month).items():
            start = time.perf_counter()
            response = client.post(f"{path}/costs/query", json=distinct(body, i))
            response.raise_for_status()
            answers[name] = response.json()
            (samples if i >= WARMUPS else warmups)[name].append((time.perf_counter() - start) * 1000)
        reply = duck.run("tag_team")
        duck_rows = reply["rows"]
        if i >= WARMUPS:
            samples["duckdb_tag_team"].append(reply["seconds"] * 1000)

    draft = admin.get(f"{path}/allocation/draft").json()
    edit_ms, preview_ms = [], []
    for run in range(EDIT_RUNS):
        start = time.perf_counter()
        admin.put(f"{path}/allocation/draft", json=edited(draft, run)).raise_for_status()
        middle = time.perf_counter()
        admin.post(f"{path}/allocation/preview", json={}).raise_for_status()
        edit_ms.append((time.perf_counter() - start) * 1000)
        preview_ms.append((time.perf_counter() - middle) * 1000)

    totals = {name: {c: Decimal(v) for c, v in answer["totals"].items()} for name, answer in answers.items()}
    return {
        "ms": {name: summary(values) for name, values in samples.items()},
        "edit_preview_ms": summary(edit_ms), "preview_ms": summary(preview_ms),
        "samples": {**samples, "edit_preview_ms": edit_ms}, "warmup_ms": warmups,
        "rows": {name: len(answer["rows"]) for name, answer in answers.items()},
        "allocation_version": answers["dim_team"].get("allocation_version"),
        "warnings": answers["dim_team"].get("warnings"),
        "totals": {name: {c: str(v) for c, v in t.items()} for name, t in totals.items()},
        "tag_totals_match_duckdb": totals["tag_team"] == totals_of(duck_rows),
        "dim_totals_match_tag": totals["dim_team"] == totals["tag_team"],
    }


def report(steps: dict[str, Step], measured: dict[str, Any], facts: dict[str, Any], rows: int, runs: int,
           load: tuple[float, float, float]) -> dict[str, Any]:
    checks: dict[str, bool | None] = {"dim_team_median": None, "dim_over_tag": None, "edit_preview_median": None,
                                      "money_conserved": None, "tag_totals": None}
    if measured:
        ms = measured["ms"]
        checks = {
            "dim_team_median": ms["dim_team"]["median"] < MEDIAN_TARGET_MS,
            "dim_over_tag": ms["dim_team"]["median"] <= RATIO_TARGET * ms["tag_team"]["median"],
            "edit_preview_median": measured["edit_preview_ms"]["median"] < EDIT_TARGET_MS,
            "money_conserved": measured["dim_totals_match_tag"],
            "tag_totals": measured["tag_totals_match_duckdb"],
        }
    verdict = "FAIL" if False in checks.values() else "PASS" if all(checks.values()) else "INCOMPLETE"
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "duckdb": facts.get("duckdb"), "load_average_at_start": load},
        "rows_requested": rows, "months": MONTHS, "runs": runs, "warmups": WARMUPS, "edit_runs": EDIT_RUNS,
        "steps": {name: asdict(s) for name, s in steps.items()}, "dataset": facts, "measured": measured,
        "targets": {"dim_team_median_ms": MEDIAN_TARGET_MS, "dim_over_tag": RATIO_TARGET,
                    "edit_preview_median_ms": EDIT_TARGET_MS},
        "checks": checks, "verdict": verdict,
    }


def print_table(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"costlake allocation benchmark: {result['rows_requested']:,} rows over {result['months']} months, "
          f"{m['cpus']} CPUs, load average {m['load_average_at_start'][0]:.2f} at start, DuckDB {m['duckdb']}")
    for s in result["steps"].values():
        seconds = "-" if s["seconds"] is None else f"{s['seconds']:.1f}"
        print(f"  {s['name']:<9} {seconds:>7} s" + (f"  ERROR: {s['error']}" if s["error"] else ""))
    measured = result["measured"]
    if measured:
        print(f"\nms over {result['runs']} runs after {result['warmups']} warm-ups, interleaved "
              f"(5 dimensions, {RULES} rules, 2 splits published as version {measured['allocation_version']})")
        print(f"{'query':<52}{'median':>9}{'p90':>9}{'rows':>7}")
        labels = {"dim_team": "API daily x dim:team, one month", "tag_team": "API daily x tag:team, one month",
                  "duckdb_tag_team": "DuckDB by hand, daily x Tags['team'], one month"}
        for name, label in labels.items():
            ms = measured["ms"][name]
            print(f"{label:<52}{ms['median']:>9.1f}{ms['p90']:>9.1f}{measured['rows'].get(name, ''):>7}")
        first = ", ".join(f"{name} {' / '.join(f'{ms:.0f}' for ms in values)}" for name, values in measured["warmup_ms"].items())
        print(f"{'warm-ups, the first after the server started (ms)':<52}  {first}")
        e, p = measured["edit_preview_ms"], measured["preview_ms"]
        print(f"{'rule edit + preview, three months (' + str(result['edit_runs']) + ' runs)':<52}{e['median']:>9.1f}"
              f"{e['p90']:>9.1f}   (preview alone: median {p['median']:.1f})")
    verdicts = {True: "PASS", False: "FAIL", None: "not measured"}
    print()
    for name, ok in result["checks"].items():
        print(f"{name}: {verdicts[ok]}")
    print(f"verdict: {result['verdict']} (targets: dim:team median < {MEDIAN_TARGET_MS:.0f} ms and <= "
          f"{RATIO_TARGET}x tag:team; edit + preview < {EDIT_TARGET_MS:.0f} ms; totals equal)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the export (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"measured runs per query (default {RUNS})")
    parser.add_argument("--workdir", type=Path, help="where to create the run's folder (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the export and costlake home")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)  # internal: the DuckDB child process
    args = parser.parse_args()
    if args.step:
        child_duckdb(args.step[1], date.fromisoformat(args.step[2]), queries_of=duck_queries)
        return 0

    import httpx

    load = os.getloadavg()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="costlake-allocation-bench-", dir=args.workdir))
    end_month = datetime.now(UTC).date().replace(day=1)
    export, home = run_dir / "export", run_dir / "home"
    measured: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    try:
        steps = {"generate": measure_generate(export, args.rows, end_month)}
        steps["sync"], setup = (Step("sync", error="skipped: no export"), {}) if steps["generate"].error \
            else measure_sync(export, home)
        admin_token = None
        if not steps["sync"].error:
            steps["publish"], admin_token = publish(home, run_dir)
        if admin_token is not None:
            tenant_id = setup["tenant"]["id"]
            server = Server(home, run_dir / "serve.log")
            duck: HandWritten | None = None
            member = {"Authorization": f"Bearer {setup['token']['token']}"}
            try:
                with httpx.Client(base_url=server.url, headers=member, timeout=300) as client, \
                        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_token}"},
                                     timeout=300) as admin:
                    server.wait_ready(client)
                    duck = HandWritten(str(home / "lake" / tenant_id), end_month, script=__file__)
                    facts = duck.facts
                    measured = measure(client, admin, tenant_id, duck, end_month, args.runs)
            except Exception as error:  # noqa: BLE001 - reported as an incomplete step
                steps["queries"] = Step("queries", error=f"{type(error).__name__}: {error}")
            finally:
                steps["serve"] = Step("serve", peak_rss_mib=server.stop(), detail={"port": server.port})
                if duck is not None:
                    steps["duckdb"] = Step("duckdb", peak_rss_mib=duck.close())
        result = report(steps, measured, facts, args.rows, args.runs, load)
        result["workdir"] = str(run_dir) if args.keep else None
        show(result, print_table, as_json=args.json, kept=run_dir if args.keep else None)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
