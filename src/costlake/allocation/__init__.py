"""Tag feature engineering and cost allocation: the tag inventory, detected variants, virtual dimensions
(`dim:<name>`) with ordered rules and shared-cost splits, versioned in the catalog. Everything is query-time SQL
over the same cost table (the lake is never rewritten); see docs/allocation.md."""

from __future__ import annotations

import threading
from typing import Any

from costlake.allocation.compile import CompiledRules
from costlake.allocation.inventory import FactsCache
from costlake.allocation.preview import totals_by_dimension
from costlake.allocation.versions import Plans
from costlake.catalog import Catalog
from costlake.query.engine import CostReader
from costlake.query.model import CostQuery
from costlake.query.scope import Scope


class Allocation:
    """What a process keeps at hand: compiled rule versions, tag facts and coverage, per tenant."""

    def __init__(self, catalog: Catalog, reader: CostReader) -> None:
        self.reader = reader
        self.plans = Plans(catalog)
        self.tags = FactsCache(reader)
        self._coverage: dict[Scope, tuple[tuple[int, int], list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def resolved(self, scope: Scope, plan: CompiledRules) -> CompiledRules:
        """The plan with its flexible keys resolved to the table's own tag keys (cached per table version by the
        reader), so a query groups by a few tag values instead of whole tag maps."""
        return plan.with_tag_keys(key for key, _ in self.reader.tag_coverage(scope)) if plan.flexible else plan

    def for_query(self, scope: Scope, names: list[str], number: int | None, field: str = "group_by") -> CompiledRules | None:
        """The plan a query naming dim:<names> needs (see Plans.for_query), resolved for the tenant's table."""
        plan = self.plans.for_query(scope.tenant_id, names, number, field)
        return None if plan is None else self.resolved(scope, plan)

    def coverage(self, scope: Scope, plan: CompiledRules) -> list[dict[str, Any]]:
        """Each dimension's share of cost outside its fallback bucket, over the explorer's default window (the
        current month and the two before); kept until the table or the published version changes."""
        key = (self.tags.table_version(scope), plan.version)
        with self._lock:
            cached = self._coverage.get(scope)
        if cached is not None and cached[0] == key:
            return cached[1]
        window = CostQuery()
        totals = totals_by_dimension(self.reader, scope, [self.resolved(scope, plan)], window.start, window.end)[0]
        result = [
            {"name": name, "fallback": plan.dimension(name).fallback, "coverage": totals[name].coverage, "start": window.start, "end": window.end}
            for name in plan.dimension_names()
        ]
        with self._lock:
            self._coverage[scope] = (key, result)
        return result


__all__ = ["Allocation"]
