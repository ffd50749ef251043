"""console: accounts, sessions, API tokens, and the ticket-list indexes

Revision ID: 0002_console
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import core.models

revision = "0002_console"
down_revision = "0001"
branch_labels = None
depends_on = None

_TICKET_INDEXES = {
    "ix_tickets_grid_id_id": ["grid_id", "id"],
    "ix_tickets_state_id": ["state", "id"],
    "ix_tickets_category_id": ["category", "id"],
    "ix_tickets_created_at_id": ["created_at", "id"],
    "ix_tickets_updated_at_id": ["updated_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", core.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", core.models.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", core.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("console_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_accounts_username"), ["username"], unique=True)
        batch_op.create_index(batch_op.f("ix_console_accounts_person_key"), ["person_key"], unique=False)

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", core.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["console_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_account_id"), ["account_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", core.models.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", core.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", core.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["console_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, columns in _TICKET_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # pg_trgm makes LIKE '%…%' searches use an index. Installing an extension needs rights
        # the database owner may lack; without it, search still works (by scanning).
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
        if available:
            try:
                with bind.begin_nested():
                    bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                    bind.execute(sa.text("CREATE INDEX ix_tickets_text_trgm ON tickets USING gin (text gin_trgm_ops)"))
            except sa.exc.DBAPIError:
                pass


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("DROP INDEX IF EXISTS ix_tickets_text_trgm"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in _TICKET_INDEXES:
            batch_op.drop_index(name)
    op.drop_table("api_tokens")
    op.drop_table("console_sessions")
    op.drop_table("console_accounts")
