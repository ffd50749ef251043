"""accounts: rate counters (sign-in attempts per client address)

Revision ID: 0008_accounts
Revises: 0007_open_updated
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.models

revision = "0008_accounts"
down_revision = "0007_open_updated"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("window_end", core.models.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rate_counters_window_end", "rate_counters", ["window_end"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_counters_window_end", table_name="rate_counters")
    op.drop_table("rate_counters")
