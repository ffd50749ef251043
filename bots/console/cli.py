"""``linli account …``: console accounts and API tokens from the command line (the first admin starts here).

Refusals raise :class:`core.accounts.AccountError`; ``bots.cli.main`` prints it as one line and exits 2.
Passwords are never taken as arguments (other users of the machine can read those with ``ps``): they
are prompted for, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

account_app = typer.Typer(help="Console accounts and API tokens.", no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]
Username = Annotated[str, typer.Argument(help="The console account's username.")]


def _engine():
    from config.settings import get_settings
    from core import db

    settings = get_settings()
    db.upgrade(settings.resolved_database_url)
    return db.make_engine(settings.resolved_database_url)


def _load_grids(engine) -> None:
    """Accounts link to people of the grids file, so load it first (idempotent)."""
    from config.settings import get_settings
    from core import db
    from core.grids import load_into_db, read_grids_file

    with db.session_scope(engine) as session:
        load_into_db(session, read_grids_file(get_settings().grids_file))


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@account_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    person: Annotated[str, typer.Option("--person", help="The person's account in the grids file, e.g. playground:admin.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a console login for a person of the grids file (admin, grid worker, care centre or volunteer)."""
    from core import accounts, db

    password = _password(password_stdin)
    engine = _engine()
    _load_grids(engine)
    with db.session_scope(engine) as session:
        account = accounts.create_account(session, username, person, password)
        scope = accounts.scope_for(session, account)
    where = "every grid" if scope.grid_ids is None else ", ".join(sorted(scope.grid_ids)) or "no grid"
    typer.echo(f"created console account {username!r} for {scope.person_name} ({scope.role.value}; sees {where})")


@account_app.command("list")
def list_accounts() -> None:
    """List console accounts."""
    from core import accounts, db

    with db.Session(_engine()) as session:
        for account, person in accounts.list_accounts(session):
            typer.echo(f"{account.username}\t{account.person_key}\t{person.role if person else '?'}\t{'active' if account.active else 'disabled'}")


@account_app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="The account the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    write: Annotated[bool, typer.Option("--write", help="Allow filing and acting on tickets, not only reading.")] = False,
) -> None:
    """Issue an API token (printed once; only its digest is stored)."""
    from core import accounts, db

    with db.session_scope(_engine()) as session:
        _, plain = accounts.issue_token(session, accounts.account_named(session, username), name,
                                        ["read", "write"] if write else ["read"])
    typer.echo(plain)


@account_app.command("disable")
def disable(username: Username) -> None:
    """Disable an account: its sessions end at once and its API tokens are refused until it is enabled again."""
    from core import accounts, db

    with db.session_scope(_engine()) as session:
        ended = accounts.set_active(session, username, False)
    typer.echo(f"disabled console account {username!r}: {ended} session(s) ended, its API tokens refused "
               f"until `linli account enable {username}`")


@account_app.command("enable")
def enable(username: Username) -> None:
    """Enable a disabled account again (and lift a lock after wrong passwords)."""
    from core import accounts, db

    with db.session_scope(_engine()) as session:
        accounts.set_active(session, username, True)
    typer.echo(f"enabled console account {username!r}")


@account_app.command("reset-password")
def reset_password(username: Username, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (prompted, or read from standard input); every session of the account ends."""
    from core import accounts, db

    password = _password(password_stdin)
    with db.session_scope(_engine()) as session:
        ended = accounts.reset_password(session, username, password)
    typer.echo(f"new password set for {username!r}; {ended} session(s) ended")


@account_app.command("sessions")
def sessions(
    username: Username,
    revoke: Annotated[bool, typer.Option("--revoke", help="End every session of the account.")] = False,
) -> None:
    """List the account's signed-in sessions (start and expiry, local time), or end them all with --revoke."""
    from core import accounts, db
    from core.timefmt import local

    with db.session_scope(_engine()) as session:
        account = accounts.account_named(session, username)
        if revoke:
            typer.echo(f"ended {accounts.end_all_sessions(session, db.pk(account))} session(s) of {username!r}")
            return
        rows = accounts.sessions_of(session, db.pk(account))
    if not rows:
        typer.echo(f"{username!r} has no open sessions")
    for row in rows:
        typer.echo(f"session {row.id}\tsigned in {local(row.created_at):%Y-%m-%d %H:%M}\texpires {local(row.expires_at):%Y-%m-%d %H:%M}")


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
