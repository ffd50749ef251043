"""Several real ``linli serve`` processes on one PostgreSQL, one of them SIGKILLed and restarted
under load: every accepted message has exactly one effect, one instance sweeps.

Through ``/webhooks/telegram`` at full scale (10,000 messages, two kills, about two minutes on
two cores); through the playground API, which processes before answering, with 500.
``python bench/kill_test.py`` runs either at any size and prints rates and latencies."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import cluster  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]



@pytest.fixture
def pg_url(database_url) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("several instances share one PostgreSQL (the SQLite deployment is one process)")
    return database_url


@pytest.mark.parametrize(("channel", "messages", "kills"), [("playground", 500, 1), ("telegram", 10_000, 2)])
def test_two_instances_one_killed_and_restarted_mid_load_apply_every_message_once(
    pg_url, tmp_path, channel, messages, kills, serve_app,
):
    env, delivered = {}, True
    if channel == "telegram":  # one group, 20 replies a minute: replies stay queued, once each
        from bench.common import stub_app

        stub = serve_app(stub_app()).__enter__()
        env, delivered = cluster.telegram_env(stub.url), False
    a = cluster.Instance(pg_url, tmp_path, env=env).start()
    b = cluster.Instance(pg_url, tmp_path, env=env).start()  # both start at once: migrations take turns
    try:
        a.wait_ready()
        b.wait_ready()
        assert cluster.sweep_lock_holders(pg_url) == 1  # one instance sweeps

        marks = [messages * (k + 1) // (kills + 1) for k in range(kills)]
        killed = []

        def kill_at_the_marks(accepted: int) -> None:
            if marks and accepted >= marks[0]:
                killed.append(marks.pop(0))
                a.kill()
                a.start()  # the platform keeps retrying meanwhile; b takes the traffic

        report = asyncio.run(cluster.send_all([a, b], messages, concurrency=32, on_accepted=kill_at_the_marks,
                                              deadline_seconds=300, channel=channel))
        assert len(killed) == kills and len(report.accepted) == messages
        assert report.attempts["ConnectError"] or report.attempts["ReadError"] or report.attempts["RemoteProtocolError"]
        a.wait_ready()
        cluster.wait_until_settled(pg_url, messages, timeout=300, delivered=delivered)
        effects = cluster.check_effects(pg_url, report.accepted, channel=channel, delivered=delivered)
        assert effects.problems == []
        assert effects.tickets == messages and effects.tickets_per_message == {1: messages}
        assert cluster.sweep_lock_holders(pg_url) == 1
    finally:
        a.stop()
        b.stop()
        if channel == "telegram":
            stub.__exit__(None, None, None)
