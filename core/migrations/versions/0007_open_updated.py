"""scale: open tickets by last update (the console's "overdue, recently updated" list)

Revision ID: 0007_open_updated
Revises: 0006_sweep_basis

Without it that list walked ix_tickets_updated_at_id past every finished ticket: five pages
took 140 ms at 1M tickets on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_open_updated"
down_revision = "0006_sweep_basis"
branch_labels = None
depends_on = None

# Spelled out (not imported) so the migration keeps meaning what it meant when written.
OPEN = "state IN ('pending', 'confirmed', 'assigned', 'in_progress')"


def upgrade() -> None:
    op.create_index("ix_tickets_open_updated", "tickets", ["updated_at", "id"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_tickets_open_updated", table_name="tickets")
