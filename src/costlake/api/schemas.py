"""Request and response bodies. Field names are the public contract: change them only with a new API version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from costlake.catalog.models import BillingSource, SyncRun
from costlake.sources.detection import AUTO
from costlake.sources.registry import FORMATS, PROVIDERS
from costlake.text import utc_text


UtcDatetime = Annotated[datetime, PlainSerializer(utc_text, return_type=str)]
Provider = Literal[PROVIDERS]  # type: ignore[valid-type]


def _known_format(name: str) -> str:
    if name != AUTO and name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; use one of: {AUTO}, {', '.join(FORMATS)}")
    return name


Format = Annotated[str, AfterValidator(_known_format)]
Options = Annotated[dict[str, Annotated[str, Field(max_length=1000)]], Field(max_length=50)]
WindowMonths = Annotated[int, Field(ge=1, le=36)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Uri = Annotated[str, Field(min_length=1, max_length=4000)]


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    source_uri: Uri
    format: Format = AUTO
    name: Name | None = None
    region: str | None = None
    window_months: WindowMonths = 2
    enabled: bool = True
    options: Options = Field(default_factory=dict, description="Format settings, e.g. {\"dataset\": \"amortized\"}")
    validate_uri: bool = Field(default=True, alias="validate", description="List the URI once before saving")


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Provider | None = None
    source_uri: Uri | None = None
    format: Format | None = None
    name: Name | None = None
    region: str | None = None
    window_months: WindowMonths | None = None
    enabled: bool | None = None
    options: Options | None = None
    validate_uri: bool = Field(default=True, alias="validate")


class SourceOut(BaseModel):
    id: str
    name: str
    provider: str
    format: str
    source_uri: str
    region: str | None
    window_months: int
    enabled: bool
    options: dict[str, str]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_status: str | None
    last_synced_at: UtcDatetime | None
    last_row_count: int | None
    last_error: str | None

    @classmethod
    def of(cls, source: BillingSource) -> SourceOut:
        return cls.model_validate(source, from_attributes=True)


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_date: date | None = Field(default=None, alias="from")


class RunOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    source_id: str
    status: str
    trigger: str
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    from_date: date | None = Field(serialization_alias="from")
    months: list[str]
    row_count: int | None
    billed_cost_by_month: dict[str, dict[str, str]]
    files: int | None
    error: str | None
    warnings: list[str]

    @classmethod
    def of(cls, run: SyncRun) -> RunOut:
        return cls.model_validate(run, from_attributes=True)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class Me(BaseModel):
    tenant_id: str | None
    tenant_name: str | None
    role: str
    token_id: str | None


def changes_of(update: SourceUpdate) -> dict[str, Any]:
    """Only the fields the request named: omitted fields stay as they are."""
    return {name: getattr(update, name) for name in update.model_fields_set if name != "validate_uri"}


class CostRowOut(BaseModel):
    """One row: `period`, one field per group_by name (e.g. "ServiceName", "tag:team"), `cost`, `currency`, `other`."""

    model_config = ConfigDict(extra="allow")

    period: str | None
    cost: str
    currency: str
    other: bool


class CostQueryResult(BaseModel):
    rows: list[CostRowOut]
    totals: dict[str, str]
    elapsed_ms: float


class DimensionOut(BaseModel):
    name: str
    label: str


class TagKeyOut(BaseModel):
    key: str
    coverage: float = Field(description="Share of cost (absolute EffectiveCost) on rows carrying the key")


class DimensionsOut(BaseModel):
    dimensions: list[DimensionOut]
    tag_keys: list[TagKeyOut]


class DimensionValueOut(BaseModel):
    value: str
    costs: dict[str, str]


class DimensionValuesOut(BaseModel):
    values: list[DimensionValueOut]
    next_cursor: str | None


class MonthHealthOut(BaseModel):
    month: str
    rows: int
    billed_cost: dict[str, str]


class SourceHealthOut(BaseModel):
    id: str
    name: str
    provider: str
    format: str
    enabled: bool
    status: str | None
    last_success_at: UtcDatetime | None
    last_error: str | None
    freshness: str | None = Field(description="Latest ChargePeriodEnd in the store for this source")
    stale: bool
    months: list[MonthHealthOut]


class DataHealthOut(BaseModel):
    sources: list[SourceHealthOut]
