"""/healthz, /readyz and /metrics of a running service, and the JSON log format."""

from __future__ import annotations

import json
import logging
import re
import sys

import httpx
import sqlalchemy as sa

from bots import logs, metrics
from core.db import head_revision, make_engine

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$')


def test_readyz_says_ok_with_the_schema_at_head_and_healthz_is_alive(live_server):
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    r = httpx.get(live_server.url + "/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "revision": head_revision()}


def test_readyz_is_503_while_migrations_are_pending(live_server, settings):
    engine = make_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("update alembic_version set version_num = '0001'"))
    try:
        r = httpx.get(live_server.url + "/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "migrations pending", "current": "0001", "head": head_revision()}
        assert httpx.get(live_server.url + "/healthz").status_code == 200  # alive, just not ready
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("update alembic_version set version_num = :v"), {"v": head_revision()})
        engine.dispose()


def test_readyz_is_503_without_a_trace_when_the_database_is_unreachable(live_server):
    runtime = live_server.server.config.app.state.runtime
    real = runtime.engine
    runtime.engine = make_engine("postgresql://postgres@127.0.0.1:9/none")  # nothing listens on port 9
    try:
        r = httpx.get(live_server.url + "/readyz", timeout=30)
        assert r.status_code == 503 and r.json()["status"] == "database unreachable"
        assert "Traceback" not in r.text
        body = httpx.get(live_server.url + "/metrics", timeout=30).text
        assert "linli_database_up 0" in body
    finally:
        runtime.engine.dispose()
        runtime.engine = real


def test_metrics_count_messages_tickets_by_state_and_the_outbox(live_server):
    before = metrics.INBOUND.get(platform="playground", result="new")
    post = {"room": "demo", "sender_id": "zhang", "text": "楼上漏水到我家了，天花板都湿了", "client_id": "metrics-1"}
    assert httpx.post(live_server.url + "/playground/api/messages", json=post).status_code == 202
    assert httpx.post(live_server.url + "/playground/api/messages", json=post).json()["duplicate"]
    r = httpx.get(live_server.url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = r.text
    assert f'linli_inbound_messages_total{{platform="playground",result="new"}} {int(before) + 1}' in body
    assert 'linli_inbound_messages_total{platform="playground",result="duplicate"}' in body
    assert 'linli_tickets{state="pending"} 1' in body
    assert "linli_database_up 1" in body
    for line in body.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.match(line), line


def test_sweep_durations_are_exposed_as_a_summary():
    with metrics.timed_sweep("test"):
        pass
    metrics.observe_sweep(0.25, "test")
    text = "\n".join(metrics.SWEEP.lines() + metrics.SWEEP_LAST.lines())
    assert 'linli_sweep_duration_seconds_count{kind="test"} 2' in text
    assert 'linli_sweep_last_duration_seconds{kind="test"} 0.25' in text


def test_json_logs_are_one_object_per_line_with_extras_and_the_traceback():
    formatter = logs.formatter("json")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("linli.test").makeRecord(
            "linli.test", logging.ERROR, __file__, 1, "inbox %s failed", (7,), sys.exc_info(), extra={"inbox_id": 7})
    line = formatter.format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "ERROR" and data["logger"] == "linli.test" and data["msg"] == "inbox 7 failed"
    assert data["inbox_id"] == 7 and "ValueError: boom" in data["exc"] and data["ts"].endswith("Z")


def test_each_sla_sweep_of_the_runtime_is_timed(runtime):
    before = metrics.SWEEP._counts.get((("kind", "sla"),), 0)
    runtime.sweeper.run_once()
    assert metrics.SWEEP._counts[(("kind", "sla"),)] == before + 1
    assert 'linli_sweep_duration_seconds_count{kind="sla"}' in metrics.render(None)
