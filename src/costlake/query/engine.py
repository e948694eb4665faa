"""Running cost queries with DuckDB over the current Parquet files of a tenant's Delta table."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from costlake.duckdb_io import connect
from costlake.query.allocated import AllocationPlan, Grouping, PlanLookup
from costlake.query.cache import ResultCache, TenantGate, cached, freeze
from costlake.query.folds import Folds, Reads
from costlake.query.model import DIM_PREFIX, DIMENSIONS, CostQuery
from costlake.query.scope import Scope
from costlake.query.sql import Alternative, Params, cost_query_sql, dimension_expression, query_reads, range_conditions
from costlake.query.tag_coverage import TagCoverage
from costlake.settings import Settings
from costlake.store import Lake, current_files

# Partition values are text; without this DuckDB would guess types from the folder names.
_SCAN_OPTIONS = "hive_partitioning = true, hive_types = {'x_SourceId': VARCHAR, 'x_BillingMonth': VARCHAR}"
_SCAN = f"read_parquet($files, {_SCAN_OPTIONS})"

_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class _Snapshot:
    table: DeltaTable
    version: int
    files: list[str]


@dataclass
class CostRow:
    period: str | None
    groups: list[Any]
    currency: str
    cost: Decimal
    other: bool


@dataclass
class CostResult:
    rows: list[CostRow]
    elapsed_ms: float
    notes: list[str]  # warnings of the allocation rules (e.g. a split that fell back to even)


class CostReader:
    """One DuckDB database per process; each query runs on its own cursor, so threads don't share results.

    `plans` answers dim:<name> for every caller that reads through this reader (the explorer, alerts, digests):
    the process that composes the services sets it to its allocation's lookup (costlake.services)."""

    def __init__(self, settings: Settings, lake: Lake) -> None:
        self.plans: PlanLookup | None = None
        self._lake = lake
        self._connection = connect(settings, [settings.lake_root])
        self._connection.execute("SET parquet_metadata_cache = true")
        self._tables: dict[str, _Snapshot] = {}
        self._lock = threading.Lock()
        self._cache = ResultCache(settings.query_cache_entries)
        self._gate = TenantGate(settings.query_concurrency, settings.query_wait)
        self.folds = Folds(self._connection, _SCAN, settings.query_fold_rows)
        self._tag_coverage = TagCoverage(self._fetch, f"read_parquet($files, {_SCAN_OPTIONS}, filename = true)")

    def version(self, tenant_id: str) -> int | None:
        with self._lock:
            held = self._tables.get(tenant_id)
            return None if held is None else held.version

    def files(self, tenant_id: str) -> list[str]:
        """The table's current files; the log is re-read incrementally, so a new sync shows at once."""
        return self._current(tenant_id)[1]

    def _current(self, tenant_id: str) -> tuple[int | None, list[str]]:
        """The table's current version and files, read together. In a local lake, while the next commit's log
        file does not exist, they are those already read (a repeated question costs one file check)."""
        with self._lock:
            held = self._tables.get(tenant_id)
            if held is not None and self._still_current(tenant_id, held):
                return held.version, held.files
            table = self._lake.open_table(tenant_id) if held is None else held.table
            if table is None:
                return None, []
            if held is not None:
                table.update_incremental()
            snapshot = self._tables[tenant_id] = _Snapshot(table, table.version(), current_files(table))
            return snapshot.version, snapshot.files

    def _still_current(self, tenant_id: str, held: _Snapshot) -> bool:
        """True when the lake says at once that no commit followed `held` (a local lake: one file check)."""
        return self._lake.has_commit(tenant_id, held.version + 1) is False

    def _fetch(self, tenant_id: str, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a statement that reads the files itself, within the tenant's concurrency bound."""
        with self._gate.admitted(tenant_id):
            return self._execute(sql, params)

    def _execute(self, sql: str, params: dict[str, Any], arrow: bool = False) -> Any:
        """One statement on its own cursor: rows, or an Arrow table."""
        cursor = self._connection.cursor()
        try:
            if arrow:
                return cursor.sql(sql, params=params).to_arrow_table()
            return cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()

    def _run(
        self,
        scope: Scope,
        sql: str,
        params: Params,
        ctes: list[str] | None = None,
        *,
        reads: Reads | None = None,
        alternative: Alternative | None = None,
        arrow: bool = False,
    ) -> Any:
        """Run a query over the scope's table, or answer it from the cache for the table's current version. A
        statement that declares what it `reads` may read a fold of the rows instead (folds.py), and one with an
        `alternative` may answer from the rows it derives, kept from that fold."""
        version, files = self._current(scope.tenant_id)
        if not files:
            return None if arrow else []
        key = (scope, sql, tuple(ctes or ()), arrow, freeze(params.values))

        def compute() -> Any:
            fold = self.folds.table_for(scope.tenant_id, version, files, reads) if reads is not None and version is not None else None
            derived = None
            if fold and alternative is not None and version is not None:
                derived = self.folds.derived_for(scope.tenant_id, version, fold, alternative.rows.ctes, alternative.rows.relation, alternative.rows.params)
            if derived and alternative is not None:
                text, given = f"WITH allocated AS (SELECT * FROM {derived}) {alternative.sql}", alternative.params.values
            else:
                text = f"WITH {', '.join([f'costs AS (SELECT * FROM {fold or _SCAN})', *(ctes or [])])} {sql}"
                given = {**params.values, "files": files}
            # Only the parameters the text uses: DuckDB refuses others (e.g. those of split notes a caller leaves out).
            used = set(_PARAMETER.findall(text))
            return self._execute(text, {name: value for name, value in given.items() if name in used}, arrow)

        return cached(self._cache, self._gate, scope.tenant_id, version, key, compute)

    def kept(self, scope: Scope, key: Hashable, compute: Callable[[], Any]) -> Any:
        """What `compute` builds from the scope's table (an answer in its final form, e.g. the API's JSON), kept
        like query answers until the table's next version. `key` must name everything else the value depends on.
        No concurrency bound here: the queries `compute` runs take their own turn."""
        version, _ = self._current(scope.tenant_id)
        full_key = ("kept", scope, key)
        if version is not None and (hit := self._cache.get(scope.tenant_id, version, full_key)) is not None:
            return hit
        value = compute()
        if version is not None:
            self._cache.put(scope.tenant_id, version, full_key, value)
        return value

    def recall(self, scope: Scope, key: Hashable) -> Any | None:
        """What `kept` holds under `key` for the table's current version, without waiting, for callers on an event
        loop: None when nothing is kept, or when the current version is not known at once (an object-store lake,
        whose log must be read, or another thread reading this one's)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            held = self._tables.get(scope.tenant_id)
            if held is None or not self._still_current(scope.tenant_id, held):
                return None
            version = held.version
        finally:
            self._lock.release()
        return self._cache.get(scope.tenant_id, version, ("kept", scope, key))

    def select(
        self, scope: Scope, sql: str, params: Params, ctes: list[str] | None = None, reads: Reads | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a SELECT over the scope's rows, named `costs` (for features above this layer, e.g. allocation); one
        that declares what it `reads` may read a fold of them."""
        return self._run(scope, sql, params, ctes, reads=reads)

    def plan_for(self, query: CostQuery, scope: Scope) -> AllocationPlan | None:
        """The allocation plan a query naming dim:<name> needs, from `plans` (None for a plain query)."""
        names = query.allocation_dimensions()
        if self.plans is None or not (names or query.allocation_version):
            return None
        return self.plans(scope, names, query.allocation_version)

    def costs(self, query: CostQuery, scope: Scope, plan: AllocationPlan | None = None) -> CostResult:
        """Rows per period, group and currency, how long the engine took, and the allocation's warnings.

        `plan` answers dim:<name>; without one, `plans` is asked."""
        started = time.perf_counter()
        params = Params()
        statement = cost_query_sql(query, scope.conditions(params), params, plan or self.plan_for(query, scope))
        # Ties in cost are ordered by the groups, so the same question always gets the same answer.
        groups = "".join(f", g{i}" for i in range(len(query.group_by)))
        order = f" ORDER BY period NULLS FIRST, other, currency, cost DESC{groups}"
        alternative = statement.alternative and Alternative(statement.alternative.rows, statement.alternative.sql + order, statement.alternative.params)
        rows = self._run(scope, statement.sql + order, params, statement.ctes, reads=statement.reads, alternative=alternative)
        width = len(query.group_by)
        result = [
            CostRow(
                period=row[0].isoformat() if row[0] is not None else None,
                groups=list(row[1 : 1 + width]),
                currency=row[1 + width],
                cost=row[2 + width],
                other=bool(row[3 + width]),
            )
            for row in rows
            if row[-1] is None
        ]
        notes = sorted({row[-1] for row in rows if row[-1] is not None})
        return CostResult(result, (time.perf_counter() - started) * 1000, notes)

    def costs_table(self, query: CostQuery, scope: Scope) -> pa.Table | None:
        """What `costs` answers, as an Arrow table (period, g0.., currency, cost, other; None without data): for
        callers that process many rows (alert evaluations), without a Python object per row."""
        params = Params()
        statement = cost_query_sql(query, scope.conditions(params), params, self.plan_for(query, scope))
        return self._run(scope, statement.sql, params, statement.ctes, reads=statement.reads, alternative=statement.alternative, arrow=True)

    def dimension_values(
        self,
        scope: Scope,
        dimension: str,
        *,
        search: str | None,
        limit: int,
        offset: int,
        period: tuple[date, date, str] | None = None,
        plan: AllocationPlan | None = None,
    ) -> list[tuple[Any, dict[str, Decimal]]]:
        """Values of a dimension, largest cost first (ranked on the sum across currencies, shown per currency);
        `period` (start, end exclusive, time basis) counts only the costs in that range."""
        params = Params()
        conditions = scope.conditions(params) + (range_conditions(*period, params) if period is not None else [])
        ctes: list[str] = []
        if dimension.startswith(DIM_PREFIX) and plan is not None:
            allocated = plan.grouped(Grouping("EffectiveCost", None, conditions, [dimension]), params)
            ctes, values, reads = allocated.ctes, f"SELECT g0 AS value, currency, cost FROM ({allocated.base})", allocated.reads
        else:
            reads = query_reads([dimension], "EffectiveCost")
            expression = dimension_expression(dimension, params)
            values = (
                f"SELECT {expression} AS value, BillingCurrency AS currency, coalesce(sum(EffectiveCost), 0) AS cost FROM costs "
                f"WHERE {' AND '.join(conditions)} GROUP BY ALL"
            )
        where = ["value IS NOT NULL"]
        if search:
            where.append(f"contains(lower(CAST(value AS VARCHAR)), {params.bind(search.lower())})")
        sql = (
            f"SELECT value, list(currency ORDER BY currency), list(cost ORDER BY currency) FROM ({values}) "
            f"WHERE {' AND '.join(where)} GROUP BY value "
            f"ORDER BY sum(abs(cost)) DESC, value LIMIT {params.bind(limit)} OFFSET {params.bind(offset)}"
        )
        return [
            (value, {currency: cost for currency, cost in zip(currencies, costs, strict=True) if currency})
            for value, currencies, costs in self._run(scope, sql, params, ctes, reads=reads)
        ]

    def tag_coverage(self, scope: Scope) -> list[tuple[str, float]]:
        """Each tag key with the share of cost (by absolute EffectiveCost) on rows that carry it (tag_coverage.py:
        a new table version reads only its new files)."""
        version, files = self._current(scope.tenant_id)
        return self._tag_coverage.coverage(scope, version, files) if version is not None and files else []

    def months_by_source(self, scope: Scope) -> list[tuple[str, str, str, int, Decimal, Any]]:
        """(source id, billing month, currency, rows, Sum(BilledCost), latest ChargePeriodEnd as text)."""
        params = Params()
        sql = (
            "SELECT x_SourceId, x_BillingMonth, BillingCurrency, count(*), sum(BilledCost), "
            "strftime(max(ChargePeriodEnd), '%Y-%m-%dT%H:%M:%SZ') "
            f"FROM costs WHERE {' AND '.join(scope.conditions(params))} GROUP BY ALL ORDER BY 1, 2, 3"
        )
        return [tuple(row) for row in self._run(scope, sql, params)]



def dimension_catalog() -> list[dict[str, str]]:
    return [{"name": name, "label": label} for name, (_, label) in DIMENSIONS.items()]


