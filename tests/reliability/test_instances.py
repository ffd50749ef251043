"""Several real ``linli serve`` processes on one PostgreSQL, one of them SIGKILLed and restarted
under load: every accepted message has exactly one effect, one instance sweeps.

The full-scale version (10,000 messages) is ``python bench/kill_test.py``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import cluster  # noqa: E402

pytestmark = pytest.mark.postgres

MESSAGES = 500


@pytest.fixture
def pg_url(database_url) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("several instances share one PostgreSQL (the SQLite deployment is one process)")
    return database_url


@pytest.mark.parametrize("channel", ["playground", "telegram"])
def test_two_instances_one_killed_and_restarted_mid_load_apply_every_message_once(pg_url, tmp_path, channel, serve_app):
    env, messages, delivered = {}, MESSAGES, True
    if channel == "telegram":  # one group, 20 replies a minute: replies stay queued, once each
        from bench.common import stub_app

        stub = serve_app(stub_app()).__enter__()
        env, messages, delivered = cluster.telegram_env(stub.url), 300, False
    a = cluster.Instance(pg_url, tmp_path, env=env).start()
    b = cluster.Instance(pg_url, tmp_path, env=env).start()  # both start at once: migrations take turns
    try:
        a.wait_ready()
        b.wait_ready()
        assert cluster.sweep_lock_holders(pg_url) == 1  # one instance sweeps

        killed = []

        def kill_a_third_of_the_way(accepted: int) -> None:
            if accepted >= messages // 3 and not killed:
                killed.append(accepted)
                a.kill()
                a.start()  # the platform keeps retrying meanwhile; b takes the traffic

        report = asyncio.run(cluster.send_all([a, b], messages, on_accepted=kill_a_third_of_the_way, channel=channel))
        assert killed and len(report.accepted) == messages
        assert report.attempts["ConnectError"] or report.attempts["ReadError"] or report.attempts["RemoteProtocolError"]
        a.wait_ready()
        cluster.wait_until_settled(pg_url, messages, timeout=60, delivered=delivered)
        effects = cluster.check_effects(pg_url, report.accepted, channel=channel, delivered=delivered)
        assert effects.problems == []
        assert effects.tickets == messages and effects.tickets_per_message == {1: messages}
        assert cluster.sweep_lock_holders(pg_url) == 1
    finally:
        a.stop()
        b.stop()
        if channel == "telegram":
            stub.__exit__(None, None, None)
