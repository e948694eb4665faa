"""hardening: who set a source's URI (access re-checked at sync), failed attempts (retry backoff), queued runs;
sources left with options null by the write that issue 14 fixed get their empty options back

Revision ID: 0007
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("billing_sources") as batch_op:
        # Sources from before this revision are held to the tenant's rules until the operator sets their URI again.
        batch_op.add_column(sa.Column("uri_by_operator", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
    # `PUT {"options": null}` could store JSON null, after which the tenant's whole source list failed to load.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE billing_sources SET options = '{}'::json WHERE options IS NULL OR options::text = 'null'")
    else:
        op.execute("UPDATE billing_sources SET options = '{}' WHERE options IS NULL OR options = 'null'")
    # One queued or running sync per source (queued runs hold the source too).
    op.drop_index("ux_sync_runs_one_running", table_name="sync_runs")
    op.create_index("ux_sync_runs_one_running", "sync_runs", ["source_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("ux_sync_runs_one_running", table_name="sync_runs")
    op.create_index("ux_sync_runs_one_running", "sync_runs", ["source_id"], unique=True,
                    sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
    with op.batch_alter_table("billing_sources") as batch_op:
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("uri_by_operator")
