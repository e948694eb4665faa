"""Each tag key's share of cost, summed from figures kept per Parquet file.

Every dim: query with flexible keys needs the tag keys, and finding them reads every row's tag map (seconds on
10M rows). A table's Parquet files never change (a sync adds files and drops others), so the figures are kept per
file and a new table version reads only the files it added: after a sync of one month, that month's rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costlake.query.scope import Scope

# One pass: each row counts once with key NULL (the file's total) and once per key of its tag map.
_PER_FILE = (
    "SELECT filename, x_SourceId, key, coalesce(sum(cost), 0) FROM ("
    "SELECT filename, x_SourceId, unnest(list_prepend(NULL, map_keys(Tags))) AS key, abs(EffectiveCost) AS cost FROM {scan}"
    ") GROUP BY ALL"
)


@dataclass
class _FileFigures:
    source_id: str
    total: Decimal = Decimal(0)  # sum of |EffectiveCost|
    tagged: dict[str, Decimal] = field(default_factory=dict)  # key -> the same sum over the rows carrying it


Run = Callable[[str, str, dict[str, Any]], list[tuple[Any, ...]]]  # (tenant, SQL, parameters) -> rows


class TagCoverage:
    """Figures per file of each tenant's current table version; `run` executes a tenant's SQL over `scan`, which
    reads $files with a `filename` column."""

    def __init__(self, run: Run, scan: str) -> None:
        self._run, self._sql = run, _PER_FILE.format(scan=scan)
        self._files: dict[str, dict[str, _FileFigures]] = {}  # tenant -> file -> figures
        self._answers: dict[Scope, tuple[int, list[tuple[str, float]]]] = {}  # scope -> (table version, answer)
        self._lock = threading.Lock()

    def coverage(self, scope: Scope, version: int, files: list[str]) -> list[tuple[str, float]]:
        """(key, share of |EffectiveCost| on rows carrying it, 4 places) over `files`, the files of table `version`,
        highest share first. Every dim: query with flexible keys asks: the answer is kept per version."""
        with self._lock:
            answered = self._answers.get(scope)
            if answered is not None and answered[0] == version:
                return answered[1]
            held = self._files.get(scope.tenant_id, {})
        figures = {uri: held[uri] for uri in files if uri in held}
        missing = [uri for uri in files if uri not in held]
        if missing:
            figures |= self._read(scope.tenant_id, missing)
        answer = self._shares(scope, figures)
        with self._lock:
            self._files[scope.tenant_id] = figures
            self._answers[scope] = (version, answer)
        return answer

    @staticmethod
    def _shares(scope: Scope, figures: dict[str, _FileFigures]) -> list[tuple[str, float]]:
        visible = [f for f in figures.values() if scope.source_ids is None or f.source_id in scope.source_ids]
        total = sum((f.total for f in visible), Decimal(0))
        tagged: dict[str, Decimal] = {}
        for file in visible:
            for key, cost in file.tagged.items():
                tagged[key] = tagged.get(key, Decimal(0)) + cost
        shares = sorted(((cost / total if total else Decimal(0), key) for key, cost in tagged.items()), key=lambda share: (-share[0], share[1]))
        return [(key, round(float(share), 4)) for share, key in shares]

    def _read(self, tenant_id: str, files: list[str]) -> dict[str, _FileFigures]:
        figures = {uri: _FileFigures(source_id="") for uri in files}
        # DuckDB names a file by its filesystem's protocol (abfs:// for az://, a bare path for file://).
        by_path = {uri.split("://", 1)[-1]: file for uri, file in figures.items()}
        for name, source_id, key, cost in self._run(tenant_id, self._sql, {"files": files}):
            file = by_path[name.split("://", 1)[-1]]
            file.source_id = source_id
            if key is None:
                file.total = cost
            else:
                file.tagged[key] = cost
        return figures
