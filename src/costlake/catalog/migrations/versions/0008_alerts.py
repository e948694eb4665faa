"""alerts: channels, budgets, anomaly monitors, anomalies, notices, deliveries, evaluation leases

Revision ID: 0008
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(60), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        _id(), _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.JSON(), nullable=True),
        sa.Column("url_hint", sa.String(300), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("secret", sa.JSON(), nullable=True),
        sa.Column("previous_secret", sa.JSON(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(), nullable=True),
        sa.Column("data_notifications", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_send_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_alert_channels_tenant_id", "alert_channels", ["tenant_id"])
    op.create_index("ux_alert_channels_tenant_name", "alert_channels", ["tenant_id", "name"], unique=True)

    op.create_table(
        "budgets",
        _id(), _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        _money("amount"),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_budgets_tenant_id", "budgets", ["tenant_id"])
    op.create_index("ux_budgets_tenant_name", "budgets", ["tenant_id", "name"], unique=True)

    op.create_table(
        "anomaly_monitors",
        _id(), _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("split_by", sa.JSON(), nullable=False),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("sensitivity", sa.String(10), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("min_daily_impact", sa.JSON(), nullable=False),
        _money("min_percent"),
        sa.Column("include_non_usage", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_evaluated_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_anomaly_monitors_tenant_id", "anomaly_monitors", ["tenant_id"])
    op.create_index("ux_anomaly_monitors_tenant_name", "anomaly_monitors", ["tenant_id", "name"], unique=True)

    op.create_table(
        "anomalies",
        _id(), _tenant(),
        sa.Column("monitor_id", sa.String(36), sa.ForeignKey("anomaly_monitors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("series", sa.JSON(), nullable=False),
        sa.Column("series_hash", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("alarm_date", sa.Date(), nullable=False),
        _money("expected"), _money("actual"), _money("impact"), _money("peak_sigma"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("data_incomplete", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("snoozed_until", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(20), nullable=True),
        sa.Column("root_causes", sa.JSON(), nullable=False),
        sa.Column("drivers", sa.JSON(), nullable=False),
        sa.Column("daily", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("notified_level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_anomalies_monitor_id", "anomalies", ["monitor_id"])
    op.create_index("ix_anomalies_tenant_start", "anomalies", ["tenant_id", "start_date"])
    op.create_index(
        "ux_anomalies_series_start", "anomalies", ["monitor_id", "series_hash", "currency", "direction", "start_date"], unique=True
    )

    op.create_table(
        "alert_notices",
        _id(), _tenant(),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ux_alert_notices_tenant_key", "alert_notices", ["tenant_id", "key"], unique=True)

    op.create_table(
        "alert_deliveries",
        _id(), _tenant(),
        sa.Column("notice_id", sa.String(36), sa.ForeignKey("alert_notices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel_id", sa.String(36), sa.ForeignKey("alert_channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_alert_deliveries_channel_id", "alert_deliveries", ["channel_id"])
    op.create_index("ux_alert_deliveries_notice_channel", "alert_deliveries", ["notice_id", "channel_id"], unique=True)
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_tenant_created", "alert_deliveries", ["tenant_id", "created_at"])

    op.create_table(
        "alert_evaluations",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=True),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    for table in ("alert_evaluations", "alert_deliveries", "alert_notices", "anomalies", "anomaly_monitors", "budgets", "alert_channels"):
        op.drop_table(table)

