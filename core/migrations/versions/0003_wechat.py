"""wechat: the access_tokens table (shared WeChat/WeCom access tokens and AI-bot reply URLs)

Revision ID: 0003_wechat
Revises: 0002_console
"""

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0003_wechat"
down_revision = "0002_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", core.models.UTCDateTime(), nullable=False),
        sa.Column("lease_until", core.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_access_tokens_expires_at", "access_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_access_tokens_expires_at", table_name="access_tokens")
    op.drop_table("access_tokens")
