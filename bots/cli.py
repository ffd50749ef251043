"""The ``linli`` command: serve, demo, db upgrade, and the classifier tools.

Every error a user can cause (a bad setting or database URL, an unreachable database, an unreadable
grids file, an account refusal) ends the command with one line on standard error and exit status 2,
never a traceback (:func:`user_error`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="linli 邻里: a bot for neighbourhood mutual-aid groups.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def _before_every_command() -> None:
    """Runs before any subcommand: log redaction (bots/logs.py) and the local time zone, from the settings."""
    from bots.logs import protect
    from config.settings import get_settings
    from core.timefmt import use_zone

    settings = get_settings()
    protect(settings)
    use_zone(settings.timezone)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers_log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the service: migrations, grids, channels, the playground at /playground."""
    import uvicorn

    from bots.app import create_app
    from bots.logs import configure as configure_logging
    from config.settings import get_settings

    settings = get_settings()
    if refusal := default_secret_refusal(host, settings.secret_key):
        raise UserError(refusal)
    log_config = configure_logging(settings.log_format, workers_log_level)
    typer.echo(f"linli: data in {settings.data_dir.resolve()}; open http://{host}:{port}/playground")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=workers_log_level, proxy_headers=True,
                log_config=log_config)


MIN_SECRET_KEY = 16


class UserError(Exception):
    """A refusal to print as one line (exit status 2)."""


def is_loopback(host: str) -> bool:
    """Whether ``--host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another host name: it may resolve to anything
        return False


def default_secret_refusal(host: str, secret_key: str) -> str | None:
    """Why ``linli serve`` must not start: the default (or a short) LINLI_SECRET_KEY on an address others can reach."""
    from config.settings import DEFAULT_SECRET_KEY

    if (secret_key != DEFAULT_SECRET_KEY and len(secret_key) >= MIN_SECRET_KEY) or is_loopback(host):
        return None
    what = "the default" if secret_key == DEFAULT_SECRET_KEY else f"shorter than {MIN_SECRET_KEY} characters"
    return (f"LINLI_SECRET_KEY is {what} and --host {host} is reachable from other machines: set LINLI_SECRET_KEY "
            "to a long random value, the same on every instance, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def user_error(exc: BaseException) -> str | None:
    """One line for an error the user caused (and can fix), or None for a bug (shown with its traceback)."""
    import sqlalchemy.exc as sa_exc
    from alembic.util.exc import CommandError
    from pydantic import ValidationError

    from core.accounts import AccountError
    from core.db import DatabaseUrlError
    from core.grids import GridsFileError

    if isinstance(exc, UserError | AccountError | GridsFileError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "; ".join(f"LINLI_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
    url = _hide_password(os.environ.get("LINLI_DATABASE_URL", "")) or "the SQLite file under LINLI_DATA_DIR"
    if isinstance(exc, DatabaseUrlError | sa_exc.ArgumentError):
        return f"LINLI_DATABASE_URL {url!r} is not a database URL linli can use: {exc}"
    if isinstance(exc, sa_exc.DBAPIError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"cannot use the database {url}: {reason}"
    if isinstance(exc, CommandError):
        return f"migrations: {exc}"
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
    return None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations (LINLI_DATABASE_URL, default SQLite under LINLI_DATA_DIR)."""
    from config.settings import get_settings
    from core import db

    settings = get_settings()
    db.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at revision {db.current_revision(db.make_engine(settings.resolved_database_url))}")


@app.command()
def demo() -> None:
    """Play a scripted neighbourhood conversation on a temporary database and print the transcript."""
    import tempfile

    from bots.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="linli-demo-") as tmp:
        for line in run_demo(Path(tmp)):
            typer.echo(line)


@app.command()
def channels() -> None:
    """List the channels: which are configured by the current settings, and how to set each one up."""
    from adapters.registry import CHANNELS
    from config.settings import get_settings

    settings = get_settings()
    for spec in CHANNELS:
        state = "on " if spec.enabled(settings) else "off"
        typer.echo(f"[{state}] {spec.name} ({spec.title})\n      {spec.setup}")


@app.command()
def report(
    period: Annotated[str, typer.Option(help="day, week or month: the last complete one.")] = "day",
    grid: Annotated[str | None, typer.Option(help="A grid id of the grids file (default: everything).")] = None,
) -> None:
    """Print the digest the staff rooms get (日报/周报/月报): received, confirmed, resolved, 办结率, overdue by grid."""
    from config.settings import get_settings
    from core import db, reports
    from core.models import utcnow

    if period not in reports.PERIODS:
        raise typer.BadParameter(f"--period must be one of {', '.join(reports.PERIODS)}")
    settings = get_settings()
    engine = db.make_engine(settings.resolved_database_url)
    with db.session_scope(engine) as session:
        try:
            digest = reports.build(session, period, grid_id=grid, now=utcnow())
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(reports.format_digest(digest))


def _register_optional() -> None:
    try:
        from bots.classifier_cli import register
    except ImportError:  # the classifier tools are optional while they are being built
        return
    register(app)


_register_optional()


def _register_accounts() -> None:
    from bots.console.cli import register

    register(app)


_register_accounts()


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        app()
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise
        print(f"error: {' '.join(message.split())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
