"""scale: next sweep time per open ticket; partial indexes on open tickets (overdue list, sweep)

Revision ID: 0005_sweep_due
Revises: 0004_console_indexes

Existing tickets get next_sweep_at = 1970-01-01 (the server default), so the first sweep after
the upgrade looks at every open ticket once and stores when each must be looked at next.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_sweep_due"
down_revision = "0004_console_indexes"
branch_labels = None
depends_on = None

# Spelled out (not imported) so the migration keeps meaning what it meant when written.
OPEN = "state IN ('pending', 'confirmed', 'assigned', 'in_progress')"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_sweep_at", sa.DateTime(), nullable=True,
                                      server_default=sa.text("'1970-01-01 00:00:00'")))
    op.create_index("ix_tickets_open_due", "tickets", ["resolve_due_at", "id"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index("ix_tickets_open_next_sweep", "tickets", ["next_sweep_at"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_tickets_open_next_sweep", table_name="tickets")
    op.drop_index("ix_tickets_open_due", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("next_sweep_at")
