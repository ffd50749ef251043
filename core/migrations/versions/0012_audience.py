"""audience: which chats are staff rooms (staff notices go only there)

Revision ID: 0012_audience
Revises: 0007_open_updated
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_audience"
down_revision = "0010_dialogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.String(length=16), nullable=False, server_default="residents"))


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("audience")
