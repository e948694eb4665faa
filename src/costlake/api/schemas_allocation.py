"""Bodies of the tag inventory, suggestions and allocation endpoints (the rules themselves: allocation/rules.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from costlake.allocation.rules import Dimension
from costlake.text import utc_text

UtcDatetime = Annotated[datetime, PlainSerializer(utc_text, return_type=str)]
Money = dict[str, str]


class TagSourceOut(BaseModel):
    source_id: str
    source: str
    provider: str
    rows: int
    cost: Money
    share: float = Field(description="Share of that source's cost (absolute EffectiveCost) on rows carrying the key")
    distinct_values: int


class TagValueOut(BaseModel):
    value: str
    cost: Money


class TagOut(BaseModel):
    key: str
    providers: list[str]
    rows: int
    cost: Money
    share: float = Field(description="Share of all cost (absolute EffectiveCost) on rows carrying the key")
    distinct_values: int
    top_values: list[TagValueOut]
    sources: list[TagSourceOut]


class TagsOut(BaseModel):
    items: list[TagOut]


class TagValuesOut(BaseModel):
    key: str
    items: list[TagValueOut]
    next_cursor: str | None


class VariantOut(BaseModel):
    variant: str
    rows: int
    cost: Money


class SuggestionOut(BaseModel):
    id: str
    kind: Literal["merge_keys", "merge_values"]
    key: Annotated[str | None, Field(description="merge_values only: the key (its most used spelling)")] = None
    keys: Annotated[list[str] | None, Field(description="merge_values only: every spelling of the key the values were found under")] = None
    variants: list[str]
    canonical: str
    cost: Money
    variant_costs: list[VariantOut]
    coverage_before: float
    coverage_after: float
    accepted: bool = Field(description="The draft already does what accepting this would")


class SuggestionsOut(BaseModel):
    items: list[SuggestionOut]


class DraftIn(BaseModel):
    """The draft's rules. `base_version` and `updated_at`, as GET returns them, may be sent back and are ignored."""

    model_config = ConfigDict(extra="forbid")

    dimensions: Annotated[list[Dimension], Field(max_length=50)] = Field(default_factory=list)
    base_version: int | None = None
    updated_at: str | None = None


class DraftOut(BaseModel):
    dimensions: list[Dimension]
    base_version: int | None = Field(description="The published version the draft started from")
    updated_at: UtcDatetime | None = Field(description="None: never edited (these are the published rules)")


class AcceptOut(DraftOut):
    dimension: str = Field(description="The dimension the suggestion changed")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Annotated[date | None, Field(description="Default: the first day of the month two months ago")] = None
    end: Annotated[date | None, Field(description="Exclusive; default: the first day of next month")] = None
    dimensions: Annotated[
        list[Dimension] | None, Field(max_length=50, description="Preview these rules instead of the saved draft (nothing is saved)")
    ] = None


class PreviewValueOut(BaseModel):
    value: str
    before: Money
    after: Money
    delta: Money


class PreviewDimensionOut(BaseModel):
    name: str
    coverage_before: float
    coverage_after: float
    values: list[PreviewValueOut]


class PreviewOut(BaseModel):
    start: date
    end: date
    published_version: int | None
    dimensions: list[PreviewDimensionOut]


class PublishedOut(BaseModel):
    version: int
    published_at: UtcDatetime


class VersionOut(BaseModel):
    version: int
    published_at: UtcDatetime
    published_by: str | None
    current: bool = Field(description="True for the version queries use by default (the latest)")
    dimensions: list[str]


class VersionsOut(BaseModel):
    items: list[VersionOut]


class VersionRulesOut(VersionOut):
    rules: dict[str, list[Dimension]]


class CoverageOut(BaseModel):
    name: str
    fallback: str
    coverage: float = Field(description="Share of cost (absolute EffectiveCost) outside the fallback bucket")
    start: date
    end: date


class AllocationStateOut(BaseModel):
    version: int
    dimensions: list[CoverageOut]
