"""billing source credentials, storage identities and GCP commitment metadata

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_sources") as batch_op:
        batch_op.add_column(sa.Column("credential", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("storage_credential", sa.JSON(), nullable=True))
    op.create_table(
        "commitments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source_id", sa.String(36), sa.ForeignKey("billing_sources.id", ondelete="CASCADE"), nullable=False),
        sa.Column("commitment_id", sa.String(200), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("category", sa.String(20), nullable=True),
        sa.Column("type", sa.String(100), nullable=True),
        sa.Column("product_name", sa.String(200), nullable=True),
        sa.Column("consumption_model", sa.String(200), nullable=True),
        sa.Column("billing_account_id", sa.String(100), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("term", sa.String(20), nullable=True),
        sa.Column("amount", sa.String(60), nullable=True),  # exact decimal text
        sa.Column("amount_unit", sa.String(40), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(40), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ux_commitments_tenant_commitment", "commitments", ["tenant_id", "commitment_id"], unique=True)
    op.create_index("ix_commitments_source", "commitments", ["source_id"])


def downgrade() -> None:
    op.drop_table("commitments")
    with op.batch_alter_table("billing_sources") as batch_op:
        batch_op.drop_column("storage_credential")
        batch_op.drop_column("credential")
