"""``linli account …``: console accounts and API tokens from the command line (the first admin starts here)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

account_app = typer.Typer(help="Console accounts and API tokens.", no_args_is_help=True)


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


@account_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    person: Annotated[str, typer.Option("--person", help="The person's account in the grids file, e.g. playground:admin.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a console login for a person of the grids file (admin, grid worker, care centre or volunteer)."""
    from core import accounts, db

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = _engine()
    _load_grids(engine)
    try:
        with db.session_scope(engine) as session:
            account = accounts.create_account(session, username, person, password)
            scope = accounts.scope_for(session, account)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
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
    from sqlmodel import select

    from core import accounts, db
    from core.console_models import ConsoleAccount

    with db.session_scope(_engine()) as session:
        account = session.exec(select(ConsoleAccount).where(ConsoleAccount.username == username)).first()
        if account is None:
            typer.echo(f"error: no console account {username!r}; create it with `linli account create`", err=True)
            raise typer.Exit(2)
        _, plain = accounts.issue_token(session, account, name, ["read", "write"] if write else ["read"])
    typer.echo(plain)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
