"""Replay protection: a callback's (timestamp, nonce) is used once, across instances sharing one database or Redis.

A platform retry may repeat the nonce with the identical body and must still get the first
answer; the same nonce with another body (a captured signed query string, forged body) is refused.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from core.models import InboxMessage
from core.nonces import DatabaseNonceStore, RedisNonceStore, WebhookNonce

COMPLAINT = "3栋楼道的灯坏了好几天了，晚上很黑"  # a place, so the bot does not ask where


async def _post(oa, query, body):
    return await oa.client.post("/webhooks/wechat", params=query, content=body)


async def test_a_retry_with_the_same_nonce_gets_the_first_answer_on_another_instance(wx, instance, counts):
    other = await instance()
    query, body = wx.oa_callback(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    first, retry = await _post(wx, query, body), await _post(other, query, body)
    assert first.status_code == retry.status_code == 200
    assert wx.oa_reply(first)["Content"] == wx.oa_reply(retry)["Content"] and "#1" in wx.oa_reply(first)["Content"]
    assert counts() == {"inbox": 1, "tickets": 1, "outbox": 1}


@pytest.mark.parametrize("shared_in", ["database", "redis"])
async def test_a_seen_nonce_with_another_body_is_refused_on_another_instance(wx, instance, counts, request, shared_in):
    # Plaintext mode (no AES key), where the signature does not cover the body: only the nonce record stops this.
    shared = {"wechat_aes_key": None, "redis_url": request.getfixturevalue("redis_url") if shared_in == "redis" else None}
    first, second = await instance(**shared), await instance(**shared)
    query, body = wx.oa_callback(wx.oa_text(COMPLAINT, wx.new_msg_id()), encrypted=False)
    assert (await _post(first, query, body)).status_code == 200
    before = counts()
    forged = wx.oa_text("我家门口有人打架，快来人", wx.new_msg_id(), openid="o-victim").encode()
    refused = await _post(second, query, forged)
    assert refused.status_code == 403 and "replay" in refused.text
    assert counts() == before
    retried = await _post(second, query, body)  # the platform's own retry still gets its answer
    assert retried.status_code == 200 and "#1" in wx.oa_reply(retried)["Content"]
    assert counts() == before


async def test_of_two_bodies_racing_with_one_nonce_on_two_instances_exactly_one_is_taken(wx, instance, wx_runtime):
    first, second = await instance(wechat_aes_key=None), await instance(wechat_aes_key=None)
    for round_ in range(5):
        query, body = wx.oa_callback(wx.oa_text(f"{COMPLAINT} {round_}", wx.new_msg_id()), encrypted=False)
        forged = wx.oa_text(f"伪造 {round_}", wx.new_msg_id(), openid="o-victim").encode()
        answers = await asyncio.gather(_post(first, query, body), _post(second, query, forged))
        assert sorted(a.status_code for a in answers) == [200, 403], [a.text for a in answers]
    with Session(wx_runtime.engine) as session:
        assert session.exec(select(func.count()).select_from(InboxMessage)).one() == 5
        assert session.exec(select(func.count()).select_from(WebhookNonce)).one() == 5


@pytest.mark.sqlite_only
async def test_a_refused_signature_does_not_use_up_the_nonce(wx, counts):
    query, body = wx.oa_callback(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    bad = await _post(wx, {**query, "msg_signature": "0" * 40}, body)
    assert bad.status_code == 403
    assert (await _post(wx, query, body)).status_code == 200 and counts()["tickets"] == 1


@pytest.mark.sqlite_only
async def test_wecom_app_and_ai_bot_retries_with_the_same_nonce_are_answered_once(wx, instance, client, counts, fake):
    other = await instance()
    query, body = wx.wecom_callback(wx.wecom_text("wangfang", "查询 99", wx.new_msg_id()))
    assert [(await c.post("/webhooks/wecom", params=query, content=body)).status_code for c in (client, other.client)] == [200, 200]
    assert counts()["inbox"] == 1
    mention = wx.group_mention("zhangsan", COMPLAINT, wx.new_msg_id(), fake_base=fake.base_url)
    query, body = wx.bot_callback(mention)
    answers = [await c.post("/webhooks/wecom-bot", params=query, content=body) for c in (client, other.client)]
    shown = [wx.bot_open_reply(a) for a in answers]
    texts = [s["template_card"]["sub_title_text"] if s["msgtype"] == "template_card" else s["stream"]["content"] for s in shown]
    assert texts[0] == texts[1] and "#1" in texts[0]
    assert counts()["inbox"] == 2 and counts()["tickets"] == 1


@pytest.mark.sqlite_only
async def test_an_over_long_nonce_is_refused_before_it_is_stored(wx, instance, counts):
    plain = await instance(wechat_aes_key=None)
    query, body = wx.oa_callback(wx.oa_text(COMPLAINT, wx.new_msg_id()), encrypted=False)
    response = await _post(plain, wx.oa_query(nonce="9" * 200), body)
    assert response.status_code == 400 and "nonce" in response.text
    assert counts()["inbox"] == 0


def test_a_nonce_row_expires_and_is_purged(wx_runtime):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = DatabaseNonceStore(wx_runtime.engine, clock=lambda: now[0], purge_every=0)
    assert store.claim("wechat:1:a", "d1", timedelta(seconds=660)) is None
    assert store.claim("wechat:1:a", "d2", timedelta(seconds=660)) == "d1"
    assert store.claim("wechat:1:b", "d1", timedelta(seconds=10)) is None
    now[0] += timedelta(seconds=30)
    assert store.claim("wechat:1:c", "d1", timedelta(seconds=660)) is None  # purges b on the way
    with Session(wx_runtime.engine) as session:
        assert sorted(session.exec(select(WebhookNonce.key))) == ["wechat:1:a", "wechat:1:c"]
    now[0] += timedelta(seconds=700)
    assert store.claim("wechat:1:a", "d3", timedelta(seconds=660)) is None  # long expired: new again


def test_redis_keeps_nonces_with_the_same_contract(redis_url):
    store = RedisNonceStore(redis_url)
    key = f"test:{os.getpid()}:{datetime.now(UTC).timestamp()}"
    assert store.claim(key, "d1", timedelta(seconds=5)) is None
    assert store.claim(key, "d2", timedelta(seconds=5)) == "d1"
    assert store.redis.pttl(store.PREFIX + key) > 0
