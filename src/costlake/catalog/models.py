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
