"""The ``linli`` command: serve, demo, db upgrade, and the classifier tools."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="linli 邻里: a bot for neighbourhood mutual-aid groups.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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
    log_config = configure_logging(settings.log_format, workers_log_level)
    typer.echo(f"linli: data in {settings.data_dir.resolve()}; open http://{host}:{port}/playground")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=workers_log_level, proxy_headers=True,
                log_config=log_config)


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
    app()


if __name__ == "__main__":
    main()
