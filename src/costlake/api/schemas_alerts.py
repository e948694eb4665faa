"""Bodies of the alert endpoints: channels, budgets, anomaly monitors, anomalies, deliveries.

Budgets and monitors are taken as costlake.alerts.specs defines them; amounts leave as decimal strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from costlake.api.schemas import Name, UtcDatetime
from costlake.catalog.models import AlertChannel, AlertDelivery, Anomaly, AnomalyMonitor, Budget
from costlake.notify.deliveries import channel_failing
from costlake.text import money_text

Url = Annotated[str, Field(min_length=1, max_length=4000)]
Address = Annotated[str, Field(min_length=3, max_length=320)]


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name
    kind: Literal["slack", "teams", "email", "webhook"]
    url: Url | None = Field(default=None, description="Slack, Teams or webhook URL; write-only")
    to: list[Address] = Field(default_factory=list, max_length=50, description="email recipients")
    data_notifications: bool = Field(default=True, description="Also receive source first-data, failing and stale notices")
    enabled: bool = True
    validate_channel: bool = Field(default=True, alias="validate", description="Send a test message first; false skips it")


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name | None = None
    url: Url | None = None
    to: list[Address] | None = Field(default=None, max_length=50)
    data_notifications: bool | None = None
    enabled: bool | None = None


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    url_hint: str | None = Field(description="scheme and host of the write-only URL")
    to: list[str]
    data_notifications: bool
    enabled: bool
    status: Literal["ok", "failing", "untested"]
    failing_since: UtcDatetime | None
    last_success_at: UtcDatetime | None
    last_error: str | None
    created_at: UtcDatetime
    secret: str | None = Field(default=None, description="webhook signing secret: in the create and rotate answers only")
    previous_secret_until: UtcDatetime | None = None

    @classmethod
    def of(cls, channel: AlertChannel, secret: str | None = None) -> ChannelOut:
        status: Literal["ok", "failing", "untested"] = "failing" if channel_failing(channel) else ("ok" if channel.last_success_at else "untested")
        return cls(
            id=channel.id, name=channel.name, kind=channel.kind, url_hint=channel.url_hint, to=channel.recipients,
            data_notifications=channel.data_notifications, enabled=channel.enabled, status=status,
            failing_since=channel.failing_since, last_success_at=channel.last_success_at, last_error=channel.last_error,
            created_at=channel.created_at, secret=secret, previous_secret_until=channel.previous_secret_until,
        )


class BudgetOut(BaseModel):
    id: str
    name: str
    filters: list[dict[str, Any]]
    metric: str
    period: str
    amount: str
    currency: str
    thresholds: list[dict[str, Any]]
    channels: list[str]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    status: dict[str, Any] | None = None

    @classmethod
    def of(cls, budget: Budget, status: dict[str, Any] | None) -> BudgetOut:
        return cls(
            id=budget.id, name=budget.name, filters=budget.filters, metric=budget.metric, period=budget.period,
            amount=money_text(budget.amount), currency=budget.currency,
            thresholds=[{"kind": t["kind"], "percent": t["percent"]} for t in budget.thresholds],
            channels=budget.channels, created_at=budget.created_at, updated_at=budget.updated_at, status=status,
        )


class MonitorOut(BaseModel):
    id: str
    name: str
    filters: list[dict[str, Any]]
    split_by: list[str]
    metric: str
    sensitivity: str
    direction: str
    min_daily_impact: str | dict[str, str]
    min_percent: str
    include_non_usage: bool
    channels: list[str]
    default: bool
    created_at: UtcDatetime
    last_evaluated_at: UtcDatetime | None

    @classmethod
    def of(cls, monitor: AnomalyMonitor) -> MonitorOut:
        impact = monitor.min_daily_impact
        return cls(
            id=monitor.id, name=monitor.name, filters=monitor.filters, split_by=monitor.split_by, metric=monitor.metric,
            sensitivity=monitor.sensitivity, direction=monitor.direction,
            min_daily_impact=impact["*"] if set(impact) == {"*"} else impact, min_percent=str(monitor.min_percent),
            include_non_usage=monitor.include_non_usage, channels=monitor.channels, default=monitor.is_default,
            created_at=monitor.created_at, last_evaluated_at=monitor.last_evaluated_at,
        )


class AnomalyOut(BaseModel):
    id: str
    monitor_id: str
    series: dict[str, Any]
    direction: str
    start_date: date
    last_date: date
    days_active: int
    active: bool
    data_incomplete: bool
    expected: str
    actual: str
    impact: str
    currency: str
    peak_sigma: str
    status: str
    snoozed_until: UtcDatetime | None
    resolution: str | None
    root_causes: list[dict[str, Any]]
    drivers: dict[str, Any]
    daily: list[dict[str, Any]]
    events: list[dict[str, Any]]
    created_at: UtcDatetime

    @classmethod
    def of(cls, anomaly: Anomaly) -> AnomalyOut:
        fields = {name: getattr(anomaly, name) for name in cls.model_fields if hasattr(anomaly, name)}
        fields |= {name: money_text(getattr(anomaly, name)) for name in ("expected", "actual", "impact")}
        fields["peak_sigma"] = str(anomaly.peak_sigma)
        fields["days_active"] = (anomaly.last_date - anomaly.start_date).days + 1
        return cls.model_validate(fields)


class AnomalyPage(BaseModel):
    items: list[AnomalyOut]
    next_cursor: str | None


class SnoozeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: date | datetime = Field(description="a date (UTC midnight) or an ISO 8601 timestamp with a zone")
    note: Annotated[str, Field(max_length=1000)] | None = None


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["expected", "unexpected", "too-small"]
    note: Annotated[str, Field(max_length=1000)] | None = None


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=1000)] | None = None


class DeliveryOut(BaseModel):
    id: str
    channel_id: str
    subject: str = Field(description="what the message is about: anomaly, budget, source (or channel, for test messages)")
    subject_id: str
    type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_retry_at: UtcDatetime | None
    sent_at: UtcDatetime | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, delivery: AlertDelivery, subject_type: str, subject_id: str, kind: str) -> DeliveryOut:
        return cls(
            id=delivery.id, channel_id=delivery.channel_id, subject=subject_type, subject_id=subject_id, type=kind,
            status=delivery.status, attempts=delivery.attempts, last_status_code=delivery.last_status_code,
            last_error=delivery.last_error, next_retry_at=delivery.next_attempt_at if delivery.status == "retrying" else None,
            sent_at=delivery.sent_at, created_at=delivery.created_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class EvaluationOut(BaseModel):
    monitors: int
    anomalies_opened: int
    anomalies_updated: int
    notices: list[str]
    incomplete: list[dict[str, Any]] = Field(description="series marked data incomplete: evaluated only through `through`")


