"""What a cost query may ask for. Every name a request can carry is checked here against an allowlist; values
(filter values, tag keys) only ever reach SQL as bound parameters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from costlake.months import add_months, current_month

# Dimension name -> (column in the table, label for people).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "ServiceProviderName": ("ServiceProviderName", "Service provider"),
    "ProviderName": ("ProviderName", "Provider"),
    "ServiceName": ("ServiceName", "Service"),
    "ServiceCategory": ("ServiceCategory", "Service category"),
    "SubAccountId": ("SubAccountId", "Sub account"),
    "SubAccountName": ("SubAccountName", "Sub account name"),
    "BillingAccountId": ("BillingAccountId", "Billing account"),
    "RegionId": ("RegionId", "Region"),
    "ChargeCategory": ("ChargeCategory", "Charge category"),
    "PricingCategory": ("PricingCategory", "Pricing category"),
    "SkuId": ("SkuId", "SKU"),
    "ResourceId": ("ResourceId", "Resource"),
    "source": ("x_SourceId", "Billing source"),
}
TAG_PREFIX = "tag:"
# dim:<name> is a virtual dimension of the tenant's allocation rules (costlake.allocation), answered through an
# AllocationPlan (query/allocated.py); the name's syntax is checked here, its existence by the plan.
DIM_PREFIX = "dim:"
DIM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
SPLIT_SUFFIX = ".split"  # dim:<name>.split: which split rule moved the cost ("direct" where none did)
METRICS = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")


def check_dimension(name: str) -> str:
    if name in DIMENSIONS:
        return name
    if name.startswith(TAG_PREFIX) and 0 < len(name) - len(TAG_PREFIX) <= 256:
        return name
    if name.startswith(DIM_PREFIX) and DIM_NAME.fullmatch(name[len(DIM_PREFIX) :].removesuffix(SPLIT_SUFFIX)):
        return name
    allowed = ", ".join(DIMENSIONS)
    raise ValueError(f"unknown dimension {name!r}; use one of {allowed}, tag:<key>, dim:<allocation dimension> or dim:<name>.split")


def allocation_names(names: list[str]) -> list[str]:
    """The allocation dimensions (dim:<name>, dim:<name>.split) among `names`, by name, in order, once each."""
    return list(dict.fromkeys(name[len(DIM_PREFIX) :].removesuffix(SPLIT_SUFFIX) for name in names if name.startswith(DIM_PREFIX)))


Dimension = Annotated[str, Field(min_length=1, max_length=260)]


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: Dimension
    op: Literal["eq", "ne", "in", "not_in", "contains", "missing"] = "eq"
    values: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=1000)

    @field_validator("dimension")
    @classmethod
    def _known_dimension(cls, name: str) -> str:
        return check_dimension(name)

    @model_validator(mode="after")
    def _values_fit_the_op(self) -> Filter:
        if self.op in ("eq", "ne") and len(self.values) != 1:
            raise ValueError(f"op {self.op} takes exactly one value")
        if self.op in ("in", "not_in", "contains") and not self.values:
            raise ValueError(f"op {self.op} takes at least one value")
        return self


def _default_start() -> date:
    return date.fromisoformat(add_months(current_month(), -2) + "-01")


def _default_end() -> date:
    return date.fromisoformat(add_months(current_month(), 1) + "-01")


class CostQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Literal[METRICS] = "EffectiveCost"  # type: ignore[valid-type]
    start: date = Field(default_factory=_default_start)
    end: date = Field(default_factory=_default_end, description="Exclusive")
    time_basis: Literal["charge", "billing"] = "charge"
    granularity: Literal["day", "week", "month", "none"] = "month"
    group_by: list[Dimension] = Field(default_factory=list, max_length=3)
    filters: list[Filter] = Field(default_factory=list, max_length=50)
    top: Annotated[int, Field(ge=1, le=1000)] | None = None
    # Unit costs (costlake.metrics.units): each row's cost ÷ (the metric's value ÷ unit_scale) for its period.
    unit_metric: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    unit_scale: Annotated[int, Field(ge=1, le=10**12)] = 1
    allocation_version: Annotated[int | None, Field(ge=1, description="Allocation rules version for dim:<name> (default: the published one)")] = None

    @field_validator("group_by")
    @classmethod
    def _known_dimensions(cls, names: list[str]) -> list[str]:
        return [check_dimension(name) for name in names]

    @model_validator(mode="after")
    def _consistent(self) -> CostQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start (end is exclusive)")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a dimension twice")
        if self.time_basis == "billing" and self.granularity in ("day", "week"):
            raise ValueError("time_basis billing buckets by billing month: use granularity month or none")
        if self.granularity == "day" and (self.end - self.start).days > 1100:
            raise ValueError("daily granularity covers at most about three years; narrow the range or use week/month")
        return self

    def allocation_dimensions(self) -> list[str]:
        """Names of the dim:<name> dimensions this query groups or filters by."""
        return allocation_names([*self.group_by, *(f.dimension for f in self.filters)])


def start_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
