"""scale: remember what the stored next sweep times were computed from

Revision ID: 0006_sweep_basis
Revises: 0005_sweep_due

With the fingerprint of the SLA policy, the grids and the next-check rules stored, a
restarted process sweeps only the tickets with something due instead of looking at every
open ticket again (minutes at 20,000 open tickets).
"""

import sqlalchemy as sa
from alembic import op

from core.models import UTCDateTime

revision = "0006_sweep_basis"
down_revision = "0005_sweep_due"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("sweep_basis")
