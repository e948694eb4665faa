"""usage metrics and their pulls, engineering events, inbound webhooks, saved views, dashboards and digests

Revision ID: 0009
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("aggregation", sa.String(10), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ux_metrics_tenant_name", "metrics", ["tenant_id", "name"], unique=True)
    op.create_table(
        "metric_values",
        sa.Column("metric_id", sa.String(36), sa.ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("labels_hash", sa.String(64), primary_key=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("value", sa.String(60), nullable=False),  # exact decimal text
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "metric_pulls",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("metric_id", sa.String(36), sa.ForeignKey("metrics.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credential", sa.JSON(), nullable=True),
        sa.Column("backfill_months", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("needs_backfill", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.String(20), nullable=True),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_metric_pulls_tenant_id", "metric_pulls", ["tenant_id"])
    op.create_table(
        "metric_pull_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("pull_id", sa.String(36), sa.ForeignKey("metric_pulls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("values_written", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_metric_pull_runs_tenant_id", "metric_pull_runs", ["tenant_id"])
    op.create_index("ix_metric_pull_runs_pull_started", "metric_pull_runs", ["pull_id", "started_at"])
    op.create_index(
        "ux_metric_pull_runs_one_running", "metric_pull_runs", ["pull_id"], unique=True,
        sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("webhook_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_events_tenant_start", "events", ["tenant_id", "starts_at"])
    op.create_index("ux_events_tenant_external", "events", ["tenant_id", "external_id"], unique=True)
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("secret", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_webhooks_tenant_id", "webhooks", ["tenant_id"])
    op.create_table(
        "saved_views",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("chart", sa.String(20), nullable=False),
        sa.Column("events_overlay", sa.JSON(), nullable=True),
        sa.Column("allocation_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_saved_views_tenant_id", "saved_views", ["tenant_id"])
    op.create_table(
        "dashboards",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("widgets", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dashboards_tenant_id", "dashboards", ["tenant_id"])
    op.create_table(
        "digests",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("frequency", sa.String(10), nullable=False),
        sa.Column("view_id", sa.String(36), sa.ForeignKey("saved_views.id", ondelete="CASCADE"), nullable=True),
        sa.Column("dashboard_id", sa.String(36), sa.ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=True),
        sa.Column("email_to", sa.JSON(), nullable=False),
        sa.Column("slack", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_period", sa.String(30), nullable=True),
        sa.Column("last_status", sa.String(20), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_message", sa.Text(), nullable=True),
    )
    op.create_index("ix_digests_tenant_id", "digests", ["tenant_id"])


def downgrade() -> None:
    for table in ("digests", "dashboards", "saved_views", "webhooks", "events", "metric_pull_runs", "metric_pulls", "metric_values", "metrics"):
        op.drop_table(table)
