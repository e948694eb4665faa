"""Costs folded to day grain over the columns a kind of question reads, kept per table version.

Most questions read a handful of columns: a dimension or two, a few tag values, the day, the currency and one
money column. Grouped by just those, millions of rows fold into thousands (the generator's 10M rows fold into
about 60,000 for two columns and eight tag keys), and every later question over the same columns (another filter
value, another month, another allocation rule) reads the fold instead of the rows, with the same SQL: a fold has
every column of `costs` the question reads, ChargePeriodStart at the start of its UTC day, and the money columns
summed. Cost queries bucket by UTC day or longer and their ranges start at midnight UTC, so nothing they compute
can tell a fold from the rows (sums of exact decimals stay exact).

A fold is built in the background the first time a kind of question is asked after a commit (that question reads
the rows, as it would without folds), one build at a time per process; a fold for more columns serves questions
over fewer. Folds of an older table version are dropped. A fold that would not save much (more than a quarter of
the table's rows, e.g. by ResourceId on data with many resources) is not kept, and that kind of question is not
folded again on that table version (a later version, after a sync, may fold well: a first small month does not).
The folds of a process hold at most `query_fold_rows` rows (least recently used go first).
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import duckdb

from costlake.query.cache import freeze

log = logging.getLogger(__name__)

# Every fold keeps these; a question reads its time range, scope and currency from them.
BASE_COLUMNS = ("x_SourceId", "x_BillingMonth", "BillingCurrency")
USEFUL_SHARE = 0.25  # a fold with more rows than this share of the table's is not worth keeping


@dataclass(frozen=True)
class Reads:
    """What a statement reads of `costs` besides ChargePeriodStart and BASE_COLUMNS: other columns (SQL names),
    tag values (as Tags[key]) and the money columns it sums. A statement that reads anything else (counts,
    ChargePeriodEnd, whole tag maps) declares no Reads and always reads the rows."""

    columns: frozenset[str] = frozenset()
    tag_keys: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()

    def __or__(self, other: Reads) -> Reads:
        return Reads(self.columns | other.columns, self.tag_keys | other.tag_keys, self.metrics | other.metrics)

    def covers(self, other: Reads) -> bool:
        return other.columns <= self.columns and other.tag_keys <= self.tag_keys and other.metrics <= self.metrics


def fold_sql(reads: Reads, scan: str) -> tuple[str, dict[str, Any]]:
    """The SELECT of a fold over `scan` (which reads $files), and its parameters but the files."""
    columns = sorted(reads.columns - set(BASE_COLUMNS))
    keys = sorted(reads.tag_keys)
    tags = [f"t{i}" for i in range(len(keys))]
    metrics = sorted(reads.metrics)
    params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(keys)} | ({"keys": keys} if keys else {})
    grouped = (
        f"SELECT date_trunc('day', make_timestamp(epoch_us(ChargePeriodStart))) AS day, {', '.join([*BASE_COLUMNS, *columns])}, "
        + "".join(f"Tags[$k{i}] AS {tag}, " for i, tag in enumerate(tags))
        + ", ".join(f"sum({metric}) AS {metric}" for metric in metrics)
        + f" FROM {scan} GROUP BY ALL"
    )
    # The session's time zone is UTC (duckdb_io.connect): the day's start as the TIMESTAMPTZ the table holds.
    outer = ["CAST(day AS TIMESTAMPTZ) AS ChargePeriodStart", *BASE_COLUMNS, *columns]
    if keys:
        outer.append(f"MAP($keys, [{', '.join(tags)}]) AS Tags")
    return f"SELECT {', '.join([*outer, *metrics])} FROM ({grouped})", params


@dataclass
class _Fold:
    tenant_id: str
    version: int
    reads: Reads | None  # None: rows derived from a fold (`derived`)
    table: str
    rows: int
    derived: Hashable = None


class Folds:
    """The folds of one DuckDB database (one per process), and the background builds that make them."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, scan: str, budget_rows: int) -> None:
        self._connection, self._scan, self._budget = connection, scan, budget_rows
        self._held: list[_Fold] = []  # least recently used first
        self._building: dict[tuple[str, int, Hashable], Future[None]] = {}
        self._not_worth: set[tuple[str, int, Hashable]] = set()  # (tenant, version, reads or derived rows) not kept
        self._names = itertools.count(1)
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Future[None], Callable[[], None]]] = queue.SimpleQueue()
        self._builder: threading.Thread | None = None

    def table_for(self, tenant_id: str, version: int, files: list[str], reads: Reads) -> str | None:
        """A fold of this table version covering `reads`, or None; then one is built for next time."""
        if self._budget <= 0:
            return None
        with self._lock:
            stale = [fold for fold in self._held if fold.tenant_id == tenant_id and fold.version < version]
            self._held = [fold for fold in self._held if fold not in stale]
            self._not_worth = {refused for refused in self._not_worth if refused[0] != tenant_id or refused[1] >= version}
            covering = [
                fold for fold in self._held if fold.tenant_id == tenant_id and fold.version == version and fold.reads and fold.reads.covers(reads)
            ]
            if covering:
                best = min(covering, key=lambda fold: fold.rows)
                self._held.remove(best)
                self._held.append(best)
            elif not self._pending_or_refused(tenant_id, version, reads):
                sql, params = fold_sql(reads, self._scan)
                self._start((tenant_id, version, reads), sql, {**params, "files": list(files)})
        self._drop(stale)
        return best.table if covering else None

    def _start(self, key: tuple[str, int, Hashable], sql: str, params: dict[str, Any]) -> None:
        """Queue the build of `key` (tenant, version, reads or derived rows) for the one builder thread, a daemon,
        so a process that ends (a CLI command) never waits for a fold it will not use. Called under the lock."""
        future: Future[None] = Future()
        self._building[key] = future
        self._queue.put((future, functools.partial(self._build, key, sql, params)))
        if self._builder is None:
            self._builder = threading.Thread(target=self._build_queued, name="costlake-fold", daemon=True)
            self._builder.start()

    def _build_queued(self) -> None:
        while True:
            future, build = self._queue.get()
            if future.set_running_or_notify_cancel():
                try:
                    build()
                    future.set_result(None)
                except Exception as error:  # a bug, not bad data (_build logs those): the questions read the rows
                    log.exception("building a fold failed")
                    future.set_exception(error)

    def _pending_or_refused(self, tenant_id: str, version: int, reads: Reads) -> bool:
        # A fold as fine-grained as a refused one or more would not be kept either.
        if any(isinstance(refused, Reads) and reads.covers(refused) for t, v, refused in self._not_worth if (t, v) == (tenant_id, version)):
            return True
        return any((t, v) == (tenant_id, version) and isinstance(what, Reads) and what.covers(reads) for t, v, what in self._building)

    def derived_for(self, tenant_id: str, version: int, fold: str, ctes: list[str], relation: str, params: dict[str, Any]) -> str | None:
        """A table of the rows `ctes` derive from a fold (`costs`) of this table version, or None; then it is built
        from `fold` for next time. For rows that cost far more to derive than to read (allocation plans)."""
        derived: Hashable = (tuple(ctes), relation, freeze(params))
        with self._lock:
            held = next((f for f in self._held if (f.tenant_id, f.version, f.derived) == (tenant_id, version, derived)), None)
            if held is not None:
                self._held.remove(held)
                self._held.append(held)
                return held.table
            key = (tenant_id, version, derived)
            if key not in self._building and key not in self._not_worth:
                self._start(key, f"WITH {', '.join([f'costs AS (SELECT * FROM {fold})', *ctes])} SELECT * FROM {relation}", params)
        return None

    def _build(self, key: tuple[str, int, Hashable], sql: str, params: dict[str, Any]) -> None:
        try:
            self._build_table(*key, sql, params)
        finally:
            with self._lock:
                self._building.pop(key, None)

    def _build_table(self, tenant_id: str, version: int, what: Hashable, sql: str, params: dict[str, Any]) -> None:
        reads = what if isinstance(what, Reads) else None
        table = f"fold_{next(self._names)}"
        cursor = self._connection.cursor()
        try:
            cursor.execute(f"CREATE TABLE {table} AS {sql}", params)
            rows = self._count(cursor, f"SELECT count(*) FROM {table}")
            total = self._count(cursor, f"SELECT count(*) FROM {self._scan}", {"files": params["files"]}) if reads else rows
        except duckdb.Error as error:  # e.g. files vacuumed or a fold dropped meanwhile: questions read the rows
            log.warning("could not fold tenant %s version %s: %s", tenant_id, version, error)
            self._drop_tables(cursor, [table])
            return
        finally:
            cursor.close()
        fold = _Fold(tenant_id, version, reads, table, rows, None if reads else what)
        with self._lock:
            # Over the budget (or, for a fold, over a quarter of the table): not kept, nor built again on this version.
            if rows > self._budget or (reads is not None and rows > total * USEFUL_SHARE):
                self._not_worth.add((tenant_id, version, what))
                evicted = [fold]
            else:
                self._held.append(fold)
                evicted = []
                while sum(held.rows for held in self._held) > self._budget:
                    evicted.append(self._held.pop(0))
        self._drop(evicted)

    @staticmethod
    def _count(cursor: duckdb.DuckDBPyConnection, sql: str, params: dict[str, list[str]] | None = None) -> int:
        row = cursor.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def _drop(self, folds: Iterable[_Fold]) -> None:
        tables = [fold.table for fold in folds]
        if tables:
            cursor = self._connection.cursor()
            try:
                self._drop_tables(cursor, tables)
            finally:
                cursor.close()

    @staticmethod
    def _drop_tables(cursor: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
        # A query that is reading a dropped fold keeps reading it: DuckDB's catalog is versioned per transaction.
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def held(self, tenant_id: str) -> list[tuple[int, Reads | None, int]]:
        """(table version, reads, rows) of the tenant's folds (reads None: rows derived from one)."""
        with self._lock:
            return [(fold.version, fold.reads, fold.rows) for fold in self._held if fold.tenant_id == tenant_id]

    def settle(self) -> None:
        """Waits for the builds started so far (tests, benchmarks)."""
        with self._lock:
            pending = list(self._building.values())
        for future in pending:
            future.result()
