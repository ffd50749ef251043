"""Shared fixtures: databases (SQLite always, PostgreSQL when LINLI_TEST_POSTGRES_URL is set), runtimes, messages."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bots.runtime import Runtime
from config.settings import Settings
from core.db import make_engine, normalise_url
from core.message import Message

POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL")
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine | None]:
    if not POSTGRES_URL:
        yield None
        return
    engine = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _fresh_postgres(admin: sa.Engine, template: str | None = None) -> tuple[str, str]:
    name = f"linli_t{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return name, admin.url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory, postgres_admin) -> Iterator[dict[str, str]]:
    """Databases migrated once per session (migrating one costs about a second): a SQLite file, and a
    PostgreSQL database to create copies from (``CREATE DATABASE … TEMPLATE``) when configured."""
    from core.db import upgrade

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    templates = {"sqlite": str(path)}
    if postgres_admin is not None:
        name, url = _fresh_postgres(postgres_admin)
        upgrade(url)
        templates["postgres"] = name
    yield templates
    if postgres_admin is not None:
        _drop_postgres(postgres_admin, templates["postgres"])


def _database(request, tmp_path, postgres_admin, template: dict[str, str] | None) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "linli.sqlite3"
        if template is not None:
            shutil.copyfile(template["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    if postgres_admin is None:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set (tests/run.sh sets it when PostgreSQL is running)")
    name, url = _fresh_postgres(postgres_admin, template=template["postgres"] if template else None)
    yield url
    _drop_postgres(postgres_admin, name)


DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DIALECTS)
def database_url(request, tmp_path, postgres_admin, migrated_templates) -> Iterator[str]:
    """A fresh database at the head migration (a copy of a template): SQLite in a temp dir, and
    PostgreSQL when configured."""
    yield from _database(request, tmp_path, postgres_admin, migrated_templates)


@pytest.fixture(params=DIALECTS)
def empty_database_url(request, tmp_path, postgres_admin) -> Iterator[str]:
    """A fresh, empty database (no tables), for tests of the migrations themselves."""
    yield from _database(request, tmp_path, postgres_admin, None)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    # Tests step the runtime by hand: no background outbox, sweeps or inbox worker, so webhooks
    # process inline (production defers to the inbox worker; tests/reliability cover that path).
    return Settings(data_dir=tmp_path, database_url=database_url, run_outbox=False, run_scheduler=False,
                    run_photos=False, inbox_defer=False, _env_file=None)


@pytest.fixture
def runtime(settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    rt.prepare()
    yield rt
    rt.engine.dispose()


@pytest.fixture
def engine(database_url) -> Iterator[sa.Engine]:
    from core.db import upgrade

    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def pytest_collection_modifyitems(config, items) -> None:
    """Also slow, besides the tests marked so by hand: browser tests (they start Chromium) and the
    PostgreSQL variants (each creates and drops a database): the quick loop, ``-m "not slow"``, runs
    on SQLite; ``-m "not slow or postgres"`` adds PostgreSQL; .ci/run runs everything."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.slow)


_ids = itertools.count(1)


def message(text: str = "", *, sender: str = "zhang", name: str = "张阿姨", room: str = "demo", platform: str = "playground", **extra) -> Message:
    """A playground message in the demo room from a resident, unless told otherwise."""
    return Message(
        platform=platform, chat_id=room, message_id=extra.pop("message_id", f"m{next(_ids)}"),
        sender_id=sender, sender_name=name, text=text, sent_at=extra.pop("sent_at", datetime.now(UTC)), **extra,
    )


@pytest.fixture
def make_message():
    """Build playground messages: ``make_message("楼上漏水", sender="liu")``."""
    return message


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, app, port: int | None = None, **config):
        """``config``: more uvicorn.Config arguments (``log_config``, ``log_level``, …)."""
        import threading

        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"log_level": "warning", "lifespan": "on", **config}
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        import httpx

        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("live server did not become ready in 20 s")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve_app():
    """Serve any ASGI app (one with ``GET /healthz``) on a free loopback port: ``with serve_app(app) as s: s.url``."""
    return LiveServer


@pytest.fixture
def live_server(settings) -> Iterator[LiveServer]:
    """``linli serve`` in-process: migrations, grids, outbox worker, the playground."""
    from bots.app import create_app

    live_settings = settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05})
    with LiveServer(create_app(live_settings)) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while
    it is open, which breaks every asyncio test that runs after it in the same session.
    """
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tests/run.sh does it as root)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def run_at_once(*calls):
    """Run the calls in threads released together by a barrier (no sleeps); their results in order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result(timeout=60) for f in [pool.submit(run, c) for c in calls]]


@pytest.fixture
def at_once():
    """``at_once(call_a, call_b, …)``: fire the calls together from threads released by a barrier."""
    return run_at_once


@pytest.fixture
def unused_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


def _one_line_refusal(out) -> str:
    """A command's refusal: one line on stderr and a non-zero exit, never a traceback. Returns the line."""
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out.stderr


@pytest.fixture(scope="session")
def one_line_refusal():
    """Check a finished ``linli`` subprocess refused as a user expects: ``one_line_refusal(out)`` → the line."""
    return _one_line_refusal
