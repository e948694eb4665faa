"""hardening: who set a source's URI (access re-checked at sync)

Revision ID: 0007
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_sources") as batch_op:
        # Sources from before this revision are held to the tenant's rules until the operator sets their URI again.
        batch_op.add_column(sa.Column("uri_by_operator", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("billing_sources") as batch_op:
        batch_op.drop_column("uri_by_operator")
