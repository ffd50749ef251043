"""notices: a grid worker's 通知 to the residents' groups of a grid, and the chats it went to

Revision ID: 0014_notices
Revises: 0012_audience
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_notices"
down_revision = "0013_archive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grid_id", sa.String(length=64), sa.ForeignKey("grids.id"), nullable=False),
        sa.Column("sender_key", sa.String(length=200), nullable=False),
        sa.Column("sender_name", sa.String(), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_notices_grid_id", "notices", ["grid_id"])
    op.create_table(
        "notice_chats",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("chat_key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.UniqueConstraint("notice_id", "chat_key", name="uq_notice_chats"),
    )
    op.create_index("ix_notice_chats_notice_id", "notice_chats", ["notice_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_chats_notice_id", table_name="notice_chats")
    op.drop_table("notice_chats")
    op.drop_index("ix_notices_grid_id", table_name="notices")
    op.drop_table("notices")
