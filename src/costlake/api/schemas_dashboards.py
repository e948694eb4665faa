"""Bodies of /views, /dashboards and /digests."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from costlake.api.schemas import CostQueryResult, Id, Name, UtcDatetime
from costlake.catalog.models import Dashboard, Digest, SavedView

Range = Literal["last_7_days", "last_30_days", "last_90_days", "month_to_date", "last_month", "last_3_months", "last_12_months"]
Email = Annotated[str, Field(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$", max_length=320)]
Chart = Literal["bar", "stacked", "line", "area", "table"]


class EventsOverlay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    labels: Annotated[dict[str, str], Field(max_length=20)] = Field(default_factory=dict, description="Only events with these labels")
    categories: list[Literal["deploy", "incident", "release", "purchase", "provider", "business", "other"]] = Field(default_factory=list)


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    query: dict[str, Any] = Field(description="A costs/query body (group_by, filters, granularity, unit_metric, ...)")
    range: Range | None = Field(default=None, description="Replaces the query's start and end with a range ending today, each time it runs")
    chart: Chart = "bar"
    events_overlay: EventsOverlay | None = None
    allocation_version: Annotated[int, Field(ge=0)] | None = Field(default=None, description="Pin the numbers to this allocation version")


class ViewUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    query: dict[str, Any] | None = None
    range: Range | None = None
    chart: Chart | None = None
    events_overlay: EventsOverlay | None = None
    allocation_version: Annotated[int, Field(ge=0)] | None = None


class ViewOut(BaseModel):
    id: str
    name: str
    query: dict[str, Any]
    range: str | None
    chart: str
    events_overlay: dict[str, Any] | None
    allocation_version: int | None
    url: str = Field(description="The console's explorer showing this view")
    created_by: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, view: SavedView) -> ViewOut:
        query = dict(view.query)
        relative = query.pop("range", None)
        return cls(
            id=view.id, name=view.name, query=query, range=relative, chart=view.chart, events_overlay=view.events_overlay,
            allocation_version=view.allocation_version, url=f"/explorer?view={view.id}", created_by=view.created_by,
            created_at=view.created_at, updated_at=view.updated_at,
        )


class ViewResult(CostQueryResult):
    view: ViewOut
    query: dict[str, Any] = Field(description="The query as it ran (a relative range resolved to dates)")


class ViewWidget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["view"]
    view_id: Id
    display: Literal["chart", "table"] = "chart"
    title: Annotated[str, Field(max_length=200)] | None = None
    width: Annotated[int, Field(ge=1, le=12)] = 6


class MetricWidget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["metric"]
    metric: str
    range: Range = "last_30_days"
    title: Annotated[str, Field(max_length=200)] | None = None
    width: Annotated[int, Field(ge=1, le=12)] = 6


class NoteWidget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["note"]
    text: Annotated[str, Field(max_length=10_000)]
    width: Annotated[int, Field(ge=1, le=12)] = 12


Widget = Annotated[ViewWidget | MetricWidget | NoteWidget, Field(discriminator="type")]


class DashboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    widgets: Annotated[list[Widget], Field(max_length=50)] = Field(default_factory=list, description="In order, on a 12-column grid")


class DashboardUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    widgets: Annotated[list[Widget], Field(max_length=50)] | None = None


class DashboardOut(BaseModel):
    id: str
    name: str
    widgets: list[dict[str, Any]]
    created_by: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, dashboard: Dashboard) -> DashboardOut:
        return cls.model_validate(dashboard, from_attributes=True)


class SlackTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: Annotated[str, Field(min_length=10, max_length=500)] = Field(description="A Slack incoming-webhook URL; write-only")


class DigestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    frequency: Literal["weekly", "monthly"]
    view_id: Id | None = None
    dashboard_id: Id | None = None
    email_to: Annotated[list[Email], Field(max_length=50)] = Field(default_factory=list)
    slack: SlackTarget | None = None
    enabled: bool = True


class DigestOut(BaseModel):
    id: str
    name: str
    frequency: str
    view_id: str | None
    dashboard_id: str | None
    email_to: list[str]
    slack: dict[str, bool] | None = Field(description="{\"set\": true} when a Slack webhook is stored; never the URL")
    enabled: bool
    last_period: str | None
    last_status: str | None
    last_attempt_at: UtcDatetime | None
    last_message: str | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, digest: Digest) -> DigestOut:
        fields = {name: getattr(digest, name) for name in cls.model_fields if name != "slack"}
        return cls(**fields, slack={"set": True} if digest.slack else None)
