"""console: indexes for the deadline sort and for satisfaction statistics

Revision ID: 0004_console_indexes
Revises: 0003_wechat
"""

from alembic import op

revision = "0004_console_indexes"
down_revision = "0003_wechat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_resolve_due_at_id", ["resolve_due_at", "id"], unique=False)
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_kind_ticket", ["kind", "ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_kind_ticket")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_resolve_due_at_id")
