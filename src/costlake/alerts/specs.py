"""What a budget or an anomaly monitor is, as clients define them. The API takes these bodies as they are."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from costlake.query.model import METRICS, Filter, check_dimension

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]  # no NUL: PostgreSQL cannot store it
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")]
Amount = Annotated[Decimal, Field(ge=0, max_digits=30, decimal_places=10)]
ChannelIds = Annotated[list[Annotated[str, Field(max_length=36)]], Field(max_length=20)]
MAX_SPLIT = 2
PREVIEW_MAX_DAYS = 366


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["actual", "forecast"] = "actual"
    percent: Annotated[Decimal, Field(gt=0, le=1000, decimal_places=2)]


class BudgetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    filters: list[Filter] = Field(default_factory=list, max_length=50)
    metric: Literal[METRICS] = "EffectiveCost"  # type: ignore[valid-type]
    period: Literal["month", "quarter", "year"] = "month"
    amount: Annotated[Decimal, Field(gt=0, max_digits=30, decimal_places=10)]
    currency: Currency
    thresholds: list[Threshold] = Field(default_factory=lambda: [Threshold(kind="actual", percent=Decimal(100))], max_length=20)
    channels: ChannelIds = Field(default_factory=list)


class MonitorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    filters: list[Filter] = Field(default_factory=list, max_length=50)
    split_by: list[Annotated[str, Field(min_length=1, max_length=260)]] = Field(default_factory=list)
    metric: Literal[METRICS] = "EffectiveCost"  # type: ignore[valid-type]
    sensitivity: Literal["low", "medium", "high"] = "medium"
    direction: Literal["increase", "decrease", "both"] = "increase"
    min_daily_impact: Amount | dict[Currency, Amount] = Field(
        default=Decimal(0), description="Per day, in the series' currency: one amount for all, or per currency"
    )
    min_percent: Annotated[Decimal, Field(ge=0, le=100000, decimal_places=2)] = Decimal(0)
    include_non_usage: bool = Field(default=False, description="Also watch Tax, Credit, Adjustment and Purchase charges")
    channels: ChannelIds = Field(default_factory=list)

    @field_validator("split_by")
    @classmethod
    def _split(cls, names: list[str]) -> list[str]:
        if len(names) > MAX_SPLIT:
            raise ValueError(f"split_by takes at most {MAX_SPLIT} dimensions")
        if len(set(names)) != len(names):
            raise ValueError("split_by names a dimension twice")
        return [check_dimension(name) for name in names]

    def min_impact(self, currency: str) -> Decimal:
        if isinstance(self.min_daily_impact, dict):
            return self.min_daily_impact.get(currency, Decimal(0))
        return self.min_daily_impact


class Window(BaseModel):
    """The days a preview (backtest) runs over: at most a year of stored history."""

    model_config = ConfigDict(extra="forbid")

    start: date
    end: date = Field(description="Exclusive")

    @model_validator(mode="after")
    def _range(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start (end is exclusive)")
        if (self.end - self.start).days > PREVIEW_MAX_DAYS:
            raise ValueError(f"a preview covers at most {PREVIEW_MAX_DAYS} days; narrow start..end")
        return self


class MonitorPreview(MonitorSpec, Window):
    name: Name = "preview"


class BudgetPreview(BudgetSpec, Window):
    name: Name = "preview"
