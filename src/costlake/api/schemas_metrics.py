"""Bodies of /metrics: definitions, values and pulls."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from costlake.api.schemas import Credential, CredentialState, UtcDatetime
from costlake.catalog.models import Metric, MetricPull, MetricPullRun
from costlake.credentials import credential_view

MetricName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="letters, digits, . _ -; up to 100")]
Aggregation = Literal["sum", "avg", "max"]


class MetricCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: MetricName
    unit: Annotated[str, Field(min_length=1, max_length=50)]
    aggregation: Aggregation = Field(default="sum", description="How days combine into a week or month: sum, avg or max")
    description: Annotated[str, Field(max_length=2000)] | None = None


class MetricUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    aggregation: Aggregation | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None


class MetricOut(BaseModel):
    name: str
    unit: str
    aggregation: str
    description: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, metric: Metric) -> MetricOut:
        return cls.model_validate(metric, from_attributes=True)


class ValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Any = Field(description="A UTC day, YYYY-MM-DD")
    value: Any = Field(description='A decimal string ("1234.5") or an integer; null deletes that day and label set')
    labels: dict[str, Any] = Field(default_factory=dict, description="Cost dimensions: team (a tag key), ServiceName, tag:<key>, ...")


class ValuesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: Annotated[list[ValueIn], Field(max_length=100_000)]


class ValuesWritten(BaseModel):
    upserted: int
    deleted: int


class ValueOut(BaseModel):
    date: date
    value: str
    labels: dict[str, str]


class ValuesOut(BaseModel):
    metric: str
    unit: str
    values: list[ValueOut]


class PullIn(BaseModel):
    """A scheduled pull: `prometheus` (url + PromQL, evaluated at the end of each UTC day) or `postgres` (a SQL query
    returning date, value and label columns, run read-only with the DSN in `credential`)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["prometheus", "postgres"]
    query: Annotated[str, Field(min_length=1, max_length=20_000)]
    url: Annotated[str, Field(max_length=2000)] | None = None
    label_map: Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=260)]], Field(max_length=20)] | None = Field(
        default=None, description="Prometheus label -> metric label, e.g. {\"service\": \"ServiceName\"}"
    )
    credential: Credential | None = Field(default=None, description="postgres: the read-only DSN, write-only; omitted keeps the stored one")
    backfill_months: Annotated[int, Field(ge=1, le=12)] = 12
    window_days: Annotated[int, Field(ge=1, le=90)] = 3
    enabled: bool = True


class PullOut(BaseModel):
    metric: str
    kind: str
    query: str
    url: str | None
    label_map: dict[str, str] | None
    credential: CredentialState | None
    backfill_months: int
    window_days: int
    enabled: bool
    last_status: str | None
    last_run_at: UtcDatetime | None
    last_success_at: UtcDatetime | None
    last_error: str | None

    @classmethod
    def of(cls, pull: MetricPull, metric: str) -> PullOut:
        config = pull.config
        return cls(
            metric=metric, kind=pull.kind, query=config["query"], url=config.get("url"), label_map=config.get("label_map"),
            credential=CredentialState(**view) if (view := credential_view(pull.credential)) else None,
            backfill_months=pull.backfill_months, window_days=config.get("window_days", 3), enabled=pull.enabled,
            last_status=pull.last_status, last_run_at=pull.last_run_at, last_success_at=pull.last_success_at, last_error=pull.last_error,
        )


class PullRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_date: date | None = Field(default=None, alias="from", description="Backfill from this day (at most 12 months back)")


class PullRunOut(BaseModel):
    id: str
    status: str
    trigger: str
    started_at: UtcDatetime
    finished_at: UtcDatetime | None
    first_day: date | None
    last_day: date | None
    attempts: int
    values_written: int | None
    error: str | None
    warnings: list[str]

    @classmethod
    def of(cls, run: MetricPullRun) -> PullRunOut:
        return cls.model_validate(run, from_attributes=True)
