"""photos: images sent with requests (and result photos), with their fetch state

Revision ID: 0015_photos
Revises: 0014_notices
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_photos"
down_revision = "0014_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat_key", sa.String(length=200), nullable=False),
        sa.Column("sender_key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("ref_index", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("chat_key", "message_id", "ref_index", name="uq_photos_message_ref"),
    )
    op.create_index("ix_photos_ticket_id", "photos", ["ticket_id"])
    op.create_index("ix_photos_sender_key", "photos", ["sender_key"])
    op.create_index("ix_photos_due", "photos", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_photos_due", table_name="photos")
    op.drop_index("ix_photos_sender_key", table_name="photos")
    op.drop_index("ix_photos_ticket_id", table_name="photos")
    op.drop_table("photos")
