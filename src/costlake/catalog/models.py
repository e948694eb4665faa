"""ORM models of the catalog. Timestamps are stored as UTC and always read back timezone-aware."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite forgets time zones; store naive UTC everywhere and hand back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals on every database: SQLite turns NUMERIC into a float, so the text is stored instead."""

    impl = String(60)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012 - SQLAlchemy reads it from the class


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    allowed_uri_prefixes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class BillingSource(Base):
    __tablename__ = "billing_sources"
    __table_args__ = (Index("ux_billing_sources_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(40))
    source_uri: Mapped[str] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(100))
    window_months: Mapped[int] = mapped_column(Integer, default=2)
    # Format settings (e.g. {"dataset": "amortized"}); never secrets.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Write-only secrets in their catalog form (costlake.credentials.stored): an env var name or ciphertext.
    credential: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    storage_credential: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the operator set source_uri (and storage identity): only then does a sync skip the tenant's access rules.
    uri_by_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # True until a sync succeeds after creation or after source_uri/format changed: that sync is a backfill.
    needs_backfill: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_synced_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_row_count: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Failed runs since the last one that committed: how long the scheduler waits before retrying (catalog.runs).
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        # At most one queued or running sync per source, across every process sharing the catalog.
        Index(
            "ux_sync_runs_one_running",
            "source_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_sync_runs_source_started", "source_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source_id: Mapped[str] = mapped_column(ForeignKey("billing_sources.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    from_date: Mapped[date | None] = mapped_column(Date)
    months: Mapped[list[str]] = mapped_column(default=list)
    row_count: Mapped[int | None]
    billed_cost_by_month: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str]] = mapped_column(default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    # While running: {"phase", "files", "files_read", "rows", "months"} (costlake.sync.progress); kept once ended.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    cancel_requested_at: Mapped[datetime | None]  # set by a cancel request; the run stops before it commits


class Commitment(Base):
    """A commitment (e.g. a GCP spend-based CUD) from a provider's commitment metadata, kept per tenant so cost rows
    can be enriched with its name, category and type."""

    __tablename__ = "commitments"
    __table_args__ = (Index("ux_commitments_tenant_commitment", "tenant_id", "commitment_id", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(ForeignKey("billing_sources.id", ondelete="CASCADE"), index=True)
    commitment_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(20))  # FOCUS CommitmentDiscountCategory: Spend | Usage
    type: Mapped[str | None] = mapped_column(String(100))  # FOCUS CommitmentDiscountType
    product_name: Mapped[str | None] = mapped_column(String(200))
    consumption_model: Mapped[str | None] = mapped_column(String(200))
    billing_account_id: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    term: Mapped[str | None] = mapped_column(String(20))  # ISO 8601 duration, e.g. P1Y
    amount: Mapped[Decimal | None] = mapped_column(DecimalText)
    amount_unit: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    state: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LakeLock(Base):
    """Serializes commits to one tenant's Delta table across processes (object stores lack a safe rename)."""

    __tablename__ = "lake_locks"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]


class HookDelivery(Base):
    """One event owed to one handler (costlake.hooks): written when the event happens, done when the handler ran.

    The outbox survives restarts, so a handler that fails or a worker that dies is retried later; a delivery is
    claimed with a short lease so that two workers never run the same one at once.
    """

    __tablename__ = "hook_deliveries"
    __table_args__ = (Index("ix_hook_deliveries_due", "done_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    handler: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(50))  # the event's kind, e.g. "sync-committed"
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Metric(Base):
    """A tenant's usage metric (requests, active users, GB served): daily values, optionally split by labels that
    name cost dimensions, so costs can be divided by it (unit costs)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ux_metrics_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(50))
    aggregation: Mapped[str] = mapped_column(String(10))  # sum | avg | max: how days combine into a period
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricValue(Base):
    """One day's value of a metric for one set of labels; `labels_hash` (sha256 of the sorted labels) keys it."""

    __tablename__ = "metric_values"

    metric_id: Mapped[str] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    labels_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    value: Mapped[Decimal] = mapped_column(DecimalText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricPull(Base):
    """Where a metric's values are pulled from on schedule: a PromQL query or a SQL query (read-only DSN)."""

    __tablename__ = "metric_pulls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    metric_id: Mapped[str] = mapped_column(ForeignKey("metrics.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # prometheus | postgres
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # url, query, label_map, window_days; never secrets
    credential: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # write-only DSN (catalog form)
    backfill_months: Mapped[int] = mapped_column(Integer, default=12)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_backfill: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class MetricPullRun(Base):
    __tablename__ = "metric_pull_runs"
    __table_args__ = (
        Index(
            "ux_metric_pull_runs_one_running",
            "pull_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_metric_pull_runs_pull_started", "pull_id", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    pull_id: Mapped[str] = mapped_column(ForeignKey("metric_pulls.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))  # running | succeeded | warning | failed
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual | backfill
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    values_written: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str]] = mapped_column(default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]


class EngineeringEvent(Base):
    """A deploy, incident, release, purchase... that explains a change in cost; shown on charts and in digests."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_start", "tenant_id", "starts_at"),
        Index("ux_events_tenant_external", "tenant_id", "external_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    url: Mapped[str | None] = mapped_column(Text)
    # A webhook's own delivery or object id ("github:<delivery>"), so a redelivery is stored once.
    external_id: Mapped[str | None] = mapped_column(String(200))
    webhook_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """An inbound endpoint (/api/v1/hooks/{id}) that turns signed provider posts into events."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # github | pagerduty | generic
    name: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"kind": "stored", "ciphertext": ...}: write-only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime | None]


class SavedView(Base):
    """A named explorer state (query, chart, unit metric, events overlay), shared within the tenant by its id."""

    __tablename__ = "saved_views"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chart: Mapped[str] = mapped_column(String(20), default="bar")
    events_overlay: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    allocation_version: Mapped[int | None]
    created_by: Mapped[str | None] = mapped_column(String(36))  # the token that made it; None: the operator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dashboard(Base):
    __tablename__ = "dashboards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    widgets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """A scheduled summary of a view or dashboard, by email and/or Slack, weekly (Mondays) or monthly (the 2nd)."""

    __tablename__ = "digests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    frequency: Mapped[str] = mapped_column(String(10))  # weekly | monthly
    view_id: Mapped[str | None] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"))
    dashboard_id: Mapped[str | None] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"))
    email_to: Mapped[list[str]] = mapped_column(default=list)
    slack: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # webhook URL, encrypted: write-only
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_period: Mapped[str | None] = mapped_column(String(30))  # the last period sent, e.g. "2026-W45"
    last_status: Mapped[str | None] = mapped_column(String(20))  # sent | waiting | failed
    last_attempt_at: Mapped[datetime | None]
    last_message: Mapped[str | None] = mapped_column(Text)
class AllocationDraft(Base):
    """The allocation rules a tenant's admins are editing (one per tenant); queries never read it."""

    __tablename__ = "allocation_drafts"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    rules: Mapped[dict[str, Any]]  # costlake.allocation.rules.RuleSet, as JSON
    base_version: Mapped[int | None]  # the version it started from (the published one, or a restored one)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class AllocationVersion(Base):
    """A published, frozen set of allocation rules; the highest number is the one queries use by default."""

    __tablename__ = "allocation_versions"
    __table_args__ = (Index("ux_allocation_versions_tenant_number", "tenant_id", "number", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    rules: Mapped[dict[str, Any]]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(100))


class TagSuggestionCache(Base):
    """Detected tag key and value variants of a tenant, as computed for one version of its cost table."""

    __tablename__ = "tag_suggestion_caches"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    table_version: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
class AlertChannel(Base):
    """Where notifications go (costlake.notify). The URL and the signing secrets are ciphertext: write-only."""

    __tablename__ = "alert_channels"
    __table_args__ = (Index("ux_alert_channels_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # slack | teams | email | webhook
    url: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # {"ciphertext": ...}
    url_hint: Mapped[str | None] = mapped_column(String(300))  # scheme and host only, for people
    recipients: Mapped[list[str]] = mapped_column(default=list)  # email
    secret: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # webhook signing secret, encrypted
    previous_secret: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    previous_secret_until: Mapped[datetime | None]
    data_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_send_at: Mapped[datetime | None]  # the channel's rate limit (Slack: about one message a second)


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (Index("ux_budgets_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[list[Any]] = mapped_column(JSON, default=list)  # explorer filters (costlake.query.model.Filter)
    metric: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))  # month | quarter | year
    amount: Mapped[Decimal] = mapped_column(DecimalText)
    currency: Mapped[str] = mapped_column(String(10))
    thresholds: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"kind": "actual"|"forecast", "percent": 80}]
    channels: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnomalyMonitor(Base):
    __tablename__ = "anomaly_monitors"
    __table_args__ = (Index("ux_anomaly_monitors_tenant_name", "tenant_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    split_by: Mapped[list[str]] = mapped_column(default=list)
    metric: Mapped[str] = mapped_column(String(40))
    sensitivity: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    min_daily_impact: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"*": "10"} or per currency
    min_percent: Mapped[Decimal] = mapped_column(DecimalText)
    include_non_usage: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[list[str]] = mapped_column(default=list)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_evaluated_at: Mapped[datetime | None]


class Anomaly(Base):
    """One anomaly of one series of a monitor: a single record that grows while the anomaly lasts."""

    __tablename__ = "anomalies"
    __table_args__ = (
        Index("ux_anomalies_series_start", "monitor_id", "series_hash", "currency", "direction", "start_date", unique=True),
        Index("ix_anomalies_tenant_start", "tenant_id", "start_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    monitor_id: Mapped[str] = mapped_column(ForeignKey("anomaly_monitors.id", ondelete="CASCADE"), index=True)
    series: Mapped[dict[str, Any]] = mapped_column(default=dict)
    series_hash: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    alarm_date: Mapped[date] = mapped_column(Date)
    expected: Mapped[Decimal] = mapped_column(DecimalText)
    actual: Mapped[Decimal] = mapped_column(DecimalText)
    impact: Mapped[Decimal] = mapped_column(DecimalText)
    peak_sigma: Mapped[Decimal] = mapped_column(DecimalText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    data_incomplete: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | acknowledged | snoozed | resolved
    snoozed_until: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(20))  # expected | unexpected | too-small
    root_causes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    drivers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # volume / rate / other
    daily: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{date, actual, expected, lower, upper}]
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notified_level: Mapped[int] = mapped_column(Integer, default=-1)  # -1: never; k: impact crossed 2**k x the first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertNotice(Base):
    """Something worth telling (an anomaly opened, a budget threshold crossed, a source failing), recorded once per
    key: the unique key is what makes evaluations idempotent across re-runs and workers."""

    __tablename__ = "alert_notices"
    __table_args__ = (Index("ux_alert_notices_tenant_key", "tenant_id", "key", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))  # anomaly.opened, budget.threshold_crossed, source.stale, ...
    subject_type: Mapped[str] = mapped_column(String(20))  # anomaly | budget | source | channel
    subject_id: Mapped[str] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One notice sent (or being sent) to one channel, with its attempts."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ux_alert_deliveries_notice_channel", "notice_id", "channel_id", unique=True),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    notice_id: Mapped[str] = mapped_column(ForeignKey("alert_notices.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="retrying")  # sent | retrying | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertEvaluation(Base):
    """Per tenant: who evaluates its alerts now (a lease, like sync runs) and when it last ran or was asked to."""

    __tablename__ = "alert_evaluations"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    requested_at: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
