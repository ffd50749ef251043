"""wecom archive: the pull cursor, kept (bad or skipped) records, consent, answers waiting to be posted

Revision ID: 0013_archive
Revises: 0007_open_updated
"""

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0013_archive"
down_revision = "0012_audience"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_cursor",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "archive_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("publickey_ver", sa.Integer(), nullable=True),
        sa.Column("chat_key", sa.String(length=200), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("msgid"),
    )
    op.create_index("ix_archive_records_kind", "archive_records", ["kind"])
    op.create_table(
        "archive_consent",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "archive_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(length=200), nullable=False),
        sa.Column("group_title", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("owners", sa.String(length=500), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("relayed_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("posted_msgid", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_archive_answers_chat_status", "archive_answers", ["chat_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_archive_answers_chat_status", table_name="archive_answers")
    op.drop_table("archive_answers")
    op.drop_table("archive_consent")
    op.drop_index("ix_archive_records_kind", table_name="archive_records")
    op.drop_table("archive_records")
    op.drop_table("archive_cursor")
