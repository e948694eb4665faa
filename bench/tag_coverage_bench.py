#!/usr/bin/env python3
"""Tag coverage after a start and after a sync, next to the one statement over every file it replaced.

Not a test (timings depend on the machine): run it by hand on a home another benchmark kept, e.g.
`python bench/allocation_bench.py --keep` then `python bench/tag_coverage_bench.py RUN_DIR/home`; see
docs/benchmarks.md. For the home's first tenant it times, with a new reader each run:

- every file: what the first dim: question after a server start waits for (every row's tag map read);
- one month's files: what the first dim: question after a sync of that month waits for (the latest month's files
  forgotten, so only they are read and the others' kept figures summed);
- the baseline: the single DuckDB statement over every file that session 5 ran after every commit.

Both answers must be equal; the script exits 1 when they are not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

from costlake.catalog import open_catalog
from costlake.duckdb_io import connect
from costlake.query.engine import CostReader
from costlake.query.scope import Scope
from costlake.settings import Settings
from costlake.store import Lake

BASELINE = (
    "WITH costs AS (SELECT * FROM read_parquet($files, hive_partitioning = true)) "
    "SELECT key, coverage FROM ("
    "SELECT unnest(map_keys(Tags)) AS key, coalesce(sum(abs(EffectiveCost)), 0) AS tagged FROM costs GROUP BY key"
    ") CROSS JOIN (SELECT coalesce(sum(abs(EffectiveCost)), 0) AS total FROM costs) "
    ", LATERAL (SELECT CASE WHEN total = 0 THEN 0 ELSE CAST(tagged / total AS DOUBLE) END AS coverage) "
    "ORDER BY coverage DESC, key"
)


def seconds(samples: list[float]) -> str:
    return f"median {statistics.median(samples):.2f} s  ({', '.join(f'{s:.2f}' for s in samples)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="a costlake home with synced costs (e.g. allocation_bench.py --keep)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(home=args.home)
    with open_catalog(settings).engine.connect() as connection:
        tenant = str(connection.execute(text("SELECT id FROM tenants ORDER BY name LIMIT 1")).scalar())
    lake = Lake(settings)
    files = lake.data_files(tenant)
    latest = max(file.split("x_BillingMonth=")[1].split("/")[0] for file in files)
    month_files = [file for file in files if f"x_BillingMonth={latest}/" in file]
    every, one_month, baseline = [], [], []
    answers = set()
    for _ in range(args.runs):
        reader = CostReader(settings, lake)  # nothing kept: as after a start
        started = time.perf_counter()
        answers.add(tuple(reader.tag_coverage(Scope(tenant))))
        every.append(time.perf_counter() - started)
        coverage = reader._tag_coverage
        coverage._answers.clear()  # as after a sync that replaced the latest month: a new version, whose
        for file in month_files:  # new files are read and the others' figures summed
            del coverage._files[tenant][file]
        started = time.perf_counter()
        answers.add(tuple(reader.tag_coverage(Scope(tenant))))
        one_month.append(time.perf_counter() - started)
        duckdb = connect(settings, [settings.lake_root])
        started = time.perf_counter()
        rows = duckdb.execute(BASELINE, {"files": files}).fetchall()
        baseline.append(time.perf_counter() - started)
        answers.add(tuple((key, round(share, 4)) for key, share in rows))
    print(f"tag coverage of {len(files)} files, {args.runs} runs, the latest month ({latest}) in {len(month_files)} files")
    print(f"  {'every file (after a start)':<42}{seconds(every)}")
    print(f"  {'the latest month (after its sync)':<42}{seconds(one_month)}")
    print(f"  {'baseline: one statement over every file':<42}{seconds(baseline)}")
    print(f"  answers equal: {len(answers) == 1}")
    return 0 if len(answers) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
