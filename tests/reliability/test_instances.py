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


def test_two_instances_one_killed_and_restarted_mid_load_apply_every_message_once(pg_url, tmp_path):
    a = cluster.Instance(pg_url, tmp_path).start()
    b = cluster.Instance(pg_url, tmp_path).start()  # both start at once: migrations take turns
    try:
        a.wait_ready()
        b.wait_ready()
        assert cluster.sweep_lock_holders(pg_url) == 1  # one instance sweeps

        killed = []

        def kill_a_third_of_the_way(accepted: int) -> None:
            if accepted >= MESSAGES // 3 and not killed:
                killed.append(accepted)
                a.kill()
                a.start()  # the platform keeps retrying meanwhile; b takes the traffic

        report = asyncio.run(cluster.send_all([a, b], MESSAGES, on_accepted=kill_a_third_of_the_way))
        assert killed and len(report.accepted) == MESSAGES
        assert report.attempts["ConnectError"] or report.attempts["ReadError"] or report.attempts["RemoteProtocolError"]
        a.wait_ready()
        cluster.wait_until_settled(pg_url, MESSAGES, timeout=60)
        effects = cluster.check_effects(pg_url, report.accepted)
        assert effects.problems == []
        assert effects.tickets == MESSAGES and effects.tickets_per_message == {1: MESSAGES}
        assert cluster.sweep_lock_holders(pg_url) == 1
    finally:
        a.stop()
        b.stop()
