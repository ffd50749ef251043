"""Group robot webhooks, shared access tokens, and starting the service without wechatpy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from adapters.wecom_robot.adapter import parse_webhooks
from adapters.wx_common import AccessTokens
from core import outbox
from core.access_tokens import DatabaseTokenStore, RedisTokenStore
from core.message import OutgoingReply
from core.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]


def test_robot_webhooks_are_parsed_and_mistakes_named():
    assert parse_webhooks(" a=https://q.example/send?key=1 , b=http://127.0.0.1:9/x ") == {
        "a": "https://q.example/send?key=1", "b": "http://127.0.0.1:9/x"}
    with pytest.raises(ValueError, match="'oops'"):
        parse_webhooks("oops")
    with pytest.raises(ValueError, match="twice"):
        parse_webhooks("a=https://x.example/1,a=https://x.example/2")


@pytest.mark.sqlite_only
async def test_a_robot_sends_at_most_20_messages_a_minute(client, wx_runtime, fake):
    with Session(wx_runtime.engine) as session:
        for i in range(25):
            outbox.enqueue(session, OutgoingReply(platform="wecom-robot", chat_id="notices", text=f"通知 {i}"), dedup_key=f"n{i}")
        session.commit()
    sent = 0
    for _ in range(5):
        sent += await wx_runtime.deliver_due()
    assert sent == 20 and len(fake.sent("/robot/notices")) == 20
    assert fake.sent("/robot/notices")[0]["json"] == {"msgtype": "text", "text": {"content": "通知 0"}}
    with Session(wx_runtime.engine) as session:
        waiting = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert len(waiting) == 5 and all(r.next_attempt_at > datetime.now(UTC) for r in waiting)


async def test_instances_share_one_access_token(wx_runtime, fake):
    fetches = 0

    async def fetch():
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0)  # let the other instance ask meanwhile
        return f"tok-{fetches}", 7200

    first = AccessTokens("wechat:app", fetch, DatabaseTokenStore(wx_runtime.engine))
    second = AccessTokens("wechat:app", fetch, DatabaseTokenStore(wx_runtime.engine))
    assert await asyncio.gather(first.get(), second.get()) == ["tok-1", "tok-1"]
    await second.invalidate("tok-1")
    assert await first.get() == "tok-2" and fetches == 2


def test_a_response_url_is_taken_exactly_once(wx_runtime):
    store = DatabaseTokenStore(wx_runtime.engine)
    store.remember("wecom-bot:reply:g:m1", "https://r/1", timedelta(minutes=55))
    store.remember("wecom-bot:reply:g:m2", "https://r/2", timedelta(minutes=56))
    assert store.take_newest("wecom-bot:reply:g:") == "https://r/2"
    assert store.take("wecom-bot:reply:g:m1") == "https://r/1"
    assert store.take("wecom-bot:reply:g:m1") is None and store.take_newest("wecom-bot:reply:g:") is None


def test_redis_keeps_tokens_with_the_same_contract(redis_url):
    store = RedisTokenStore(redis_url)
    key = f"test:{os.getpid()}"
    assert store.get(key) is None
    assert store.lease(key, 5) and not store.lease(key, 5)
    expires = datetime.now(UTC) + timedelta(hours=2)
    store.put(key, "tok", expires)
    assert store.get(key) == ("tok", expires)
    store.drop(key, "other")
    assert store.get(key) is not None
    store.drop(key, "tok")
    assert store.get(key) is None


def test_the_service_starts_without_importing_wechatpy_when_unconfigured(tmp_path):
    code = (
        "import sys\n"
        "from config.settings import Settings\n"
        "from bots.app import create_app\n"
        f"app = create_app(Settings(data_dir=r'{tmp_path}', _env_file=None))\n"
        "assert 'wechatpy' not in sys.modules, 'wechatpy was imported'\n"
        "assert not [r for r in app.routes if getattr(r, 'path', '').startswith('/webhooks/we')]\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
