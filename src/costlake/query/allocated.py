"""The seam through which allocation rules reach the cost query: the engine asks an `AllocationPlan` for SQL.

costlake.allocation sits above this layer (it reads costs), so the query engine never imports it. A plan is
compiled there once per tenant and rules version; here it is only a shape: given what a query groups and filters
by, it hands back common table expressions over `costs` and a SELECT of the grouped rows, plus notes (warnings,
e.g. a proportional split whose weights were all zero and fell back to even).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from costlake.query.folds import Reads
from costlake.query.model import CostQuery, Filter

if TYPE_CHECKING:
    from costlake.query.scope import Scope
    from costlake.query.sql import Params


@dataclass(frozen=True)
class Grouping:
    """What one query needs from the allocated rows."""

    metric: str
    query: CostQuery | None  # the time range, basis and granularity; None: all time, no periods
    scope: list[str]  # the caller's scope as SQL conditions over `costs`
    group_by: list[str]
    filters: list[Filter] = field(default_factory=list)


@dataclass(frozen=True)
class DerivedRows:
    """Rows a plan derives from `costs` whatever the query asks (every row labelled and split, by UTC day), which
    the engine may keep per table version; `base` and `notes` answer the query from them, named `allocated`."""

    ctes: list[str]  # after `costs`
    relation: str  # the CTE holding the rows
    params: dict[str, Any]  # those the CTEs bind
    base: str
    notes: str | None
    answer_params: Params  # those `base` and `notes` bind (apart from the statement's: either runs alone)


@dataclass(frozen=True)
class AllocatedSql:
    ctes: list[str]  # "name AS (...)" after `costs`, in order
    base: str  # SELECT period, g0, ..., currency, cost: one row per period, group and currency
    notes: str | None = None  # SELECT note: one text per warning, or None when nothing can warn
    reads: Reads | None = None  # what the CTEs read of `costs`, when a fold can answer them (query/folds.py)
    derived: DerivedRows | None = None  # the same answer from rows the engine may keep


class AllocationPlan(Protocol):
    """A tenant's compiled allocation rules (one version)."""

    version: int

    def dimension_names(self) -> list[str]: ...

    def grouped(self, grouping: Grouping, params: Params) -> AllocatedSql: ...


class PlanLookup(Protocol):
    """Finds the plan a query naming dim:<names> needs (rules version `number`, or the published one), or None when
    it names none; raises InvalidInput naming `field` for an unknown dimension. costlake.allocation provides it."""

    def __call__(self, scope: Scope, names: list[str], number: int | None, field: str = "group_by") -> AllocationPlan | None: ...
