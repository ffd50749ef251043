"""nonces: the webhook_nonces table (WeChat/WeCom callback nonces seen recently, for replay protection)

Revision ID: 0009_nonces
Revises: 0007_open_updated
"""

import sqlalchemy as sa
from alembic import op

import core.models

revision = "0009_nonces"
down_revision = "0008_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonces",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_webhook_nonces_expires_at", "webhook_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_nonces_expires_at", table_name="webhook_nonces")
    op.drop_table("webhook_nonces")
