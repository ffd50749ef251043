"""dialogue: pending follow-up questions (one per person and chat) and the place a chat implies

Revision ID: 0010_dialogue
Revises: 0007_open_updated

``pending_questions`` holds what the bot asked whom (core/dialogue.py); ``open_key`` is unique
while a question is pending and NULL afterwards. ``chats.place`` is the building (or place) a
group is bound to, from the grids file: a report there without a place happened there.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_dialogue"
down_revision = "0009_nonces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_key", sa.String(200), nullable=False),
        sa.Column("chat_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("open_key", sa.String(401), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_pending_questions_open_key", "pending_questions", ["open_key"], unique=True)
    op.create_index("ix_pending_questions_ticket_id", "pending_questions", ["ticket_id"])
    op.create_index("ix_pending_questions_person_asked", "pending_questions", ["person_key", "asked_at"])
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("place", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("place")
    op.drop_index("ix_pending_questions_person_asked", table_name="pending_questions")
    op.drop_index("ix_pending_questions_ticket_id", table_name="pending_questions")
    op.drop_index("ix_pending_questions_open_key", table_name="pending_questions")
    op.drop_table("pending_questions")
