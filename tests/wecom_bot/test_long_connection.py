"""The WeCom AI bot's long-connection mode (LINLI_WECOM_BOT_MODE=websocket) against a fake gateway:
subscription, heartbeat, reconnection, a message in and its answer out, cards, clicks, and the lock
that lets exactly one instance hold the connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from adapters.wecom_bot.websocket import LOCK_NAME, Backoff, LongConnection
from bots.app import create_app
from bots.runtime import Runtime
from bots.scheduler import SweepLock
from config.settings import Settings
from core.db import make_engine
from core.message import Button, OutgoingReply
from core.models import InboxMessage, Ticket
from core.ticket_states import TicketState

from .gateway import BOT_ID, SECRET, Gateway, card_click, text_callback

GROUP = "wrkSFfCgAAxxxx"  # bound to 幸福社区第二网格 in config/grids.example.yaml
COMPLAINT = "小区门口的垃圾桶满了好几天没人清运，味道很大"


class FreeLock:
    """A lock nobody else wants (the connection tests that are not about the lock)."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        self.released.set()


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with Gateway() as g:
        yield g


def connection(gateway: Gateway, *, secret: str = SECRET, lock=None, heartbeat: float = 30.0) -> LongConnection:
    return LongConnection(url=gateway.url, bot_id=BOT_ID, secret=secret, lock=lock or FreeLock(),
                          heartbeat=heartbeat, backoff=Backoff(first=0.01, most=0.08), lock_retry=0.02, ack_timeout=5.0)


async def subscribed(conn: LongConnection) -> None:
    async with asyncio.timeout(10):
        await conn.subscribed.wait()


# -- the connection ---------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_ceiling_and_starts_over_after_a_success():
    backoff = Backoff(first=1, most=30)
    assert [backoff.next() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.next() == 1


async def test_it_subscribes_with_the_bot_id_and_secret_and_keeps_a_heartbeat(gateway):
    conn = connection(gateway, heartbeat=0.02)
    conn.start()
    try:
        await subscribed(conn)
        [subscribe] = gateway.sent("aibot_subscribe")
        assert subscribe["body"] == {"bot_id": BOT_ID, "secret": SECRET}
        await gateway.wait_until(lambda: len(gateway.sent("ping")) >= 3)
        assert conn.subscribed.is_set()  # answered pings keep it open
        assert gateway.subscriptions == 1
    finally:
        await conn.stop()


async def test_a_wrong_secret_is_refused_and_tried_again_later_without_subscribing(gateway):
    conn = connection(gateway, secret="wrong")
    conn.start()
    try:
        await gateway.wait_until(lambda: len(gateway.sent("aibot_subscribe")) >= 3)
        assert gateway.subscriptions == 0 and not conn.subscribed.is_set()
        assert conn.last_delay is not None and conn.last_delay > 0.01  # backing off, not hammering
    finally:
        await conn.stop()


async def test_it_reconnects_after_the_server_drops_the_connection(gateway):
    conn = connection(gateway)
    conn.start()
    try:
        await subscribed(conn)
        await gateway.drop()
        await gateway.wait_until(lambda: gateway.subscriptions == 2)
        await subscribed(conn)
        assert conn.last_delay == 0.01  # the first retry after a good session waits the shortest delay
    finally:
        await conn.stop()


async def test_unanswered_pings_close_the_connection_and_it_is_opened_again(gateway):
    gateway.answer_pings = False
    conn = connection(gateway, heartbeat=0.02)
    conn.start()
    try:
        await gateway.wait_until(lambda: gateway.subscriptions >= 2)
        assert len(gateway.sent("ping")) >= 2  # two unanswered pings before giving the connection up
    finally:
        await conn.stop()


async def test_when_another_connection_takes_over_it_waits_the_longest_delay(gateway):
    conn = connection(gateway)
    conn.start()
    try:
        await subscribed(conn)
        await gateway.push("aibot_event_callback", {"msgid": "e1", "aibotid": BOT_ID, "from": {"userid": "x"},
                                                    "msgtype": "event", "event": {"eventtype": "disconnected_event"}})
        await gateway.wait_until(lambda: gateway.current is None)
        await gateway.wait_until(lambda: gateway.subscriptions == 2)
        assert conn.last_delay == 0.08  # Backoff.most: it does not fight the other connection
    finally:
        await conn.stop()


async def test_a_frame_sent_while_the_connection_is_down_fails_with_a_connection_error(gateway):
    conn = connection(gateway)
    conn.start()
    try:
        await subscribed(conn)
        await gateway.drop()
        with pytest.raises(ConnectionError):  # nothing is open between the drop and the reconnection
            for _ in range(1000):
                await conn.request("aibot_send_msg", {"chatid": "c", "msgtype": "markdown", "markdown": {"content": "x"}})
                await asyncio.sleep(0)
    finally:
        await conn.stop()


# -- exactly one instance holds the connection ---------------------------------------------------


class CountingLock:
    """The real database lock, counting how often it was asked for."""

    def __init__(self, lock: SweepLock):
        self.lock, self.asked = lock, 0

    def acquire(self) -> bool:
        self.asked += 1
        return self.lock.acquire()

    def release(self) -> None:
        self.lock.release()


async def test_exactly_one_instance_holds_the_connection_and_another_takes_over(gateway, database_url):
    engines = [make_engine(database_url) for _ in range(2)]
    if database_url.startswith("sqlite"):
        for e in engines:
            with e.begin() as c:
                c.execute(sa.text("select 1"))  # the file must exist for its lock file to sit beside it
    locks = [CountingLock(SweepLock(e, name=LOCK_NAME)) for e in engines]
    first, second = (connection(gateway, lock=lock) for lock in locks)
    first.start()
    try:
        await subscribed(first)
        second.start()
        while locks[1].asked < 3:  # the second instance has asked for the lock, and been refused, repeatedly
            await asyncio.sleep(0.01)
        assert gateway.subscriptions == 1 and not second.subscribed.is_set()
        await first.stop()  # releases the lock
        await subscribed(second)
        assert gateway.subscriptions == 2
    finally:
        await first.stop()
        await second.stop()
        for e in engines:
            e.dispose()


# -- linli over the connection -------------------------------------------------------------------


@pytest.fixture
async def socket_runtime(tmp_path, database_url, gateway) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, run_outbox=False, run_scheduler=False,
                        inbox_defer=False, playground=False, wecom_bot_mode="websocket", wecom_bot_id=BOT_ID,
                        wecom_bot_secret=SECRET, wecom_bot_ws_url=gateway.url, _env_file=None)
    runtime = Runtime(settings)
    runtime.prepare()
    app = create_app(runtime=runtime)
    assert app.state.channels == ["wecom-bot"]
    adapter = runtime.adapters["wecom-bot"]
    await adapter.start()
    await subscribed(adapter.connection)
    yield runtime
    await adapter.stop()
    runtime.engine.dispose()


def the_ticket(runtime: Runtime) -> Ticket:
    with Session(runtime.engine) as session:
        return session.exec(select(Ticket)).one()


async def test_a_group_complaint_is_answered_on_its_req_id_with_a_finished_stream_or_card(socket_runtime, gateway):
    req_id = await gateway.push("aibot_msg_callback", text_callback(COMPLAINT, msgid="m1", chat=GROUP))
    [answer] = await gateway.wait_until(lambda: [f for f in gateway.sent("aibot_respond_msg")
                                                 if f["headers"]["req_id"] == req_id])
    ticket = the_ticket(socket_runtime)
    assert ticket.chat_key == f"wecom-bot:{GROUP}" and ticket.grid_id == "xingfu-2"
    body = answer["body"]
    if body["msgtype"] == "template_card":
        shown = body["template_card"]["sub_title_text"]
        assert f"t:confirm:{ticket.id}" in [b["key"] for b in body["template_card"]["button_list"]]
    else:
        assert body["msgtype"] == "stream" and body["stream"]["finish"] is True
        shown = body["stream"]["content"]
    assert f"#{ticket.id}" in shown
    assert await socket_runtime.deliver_due() == 0  # answered over the connection, not sent again


async def test_chatter_gets_no_answer_and_no_ticket(socket_runtime, gateway):
    await gateway.push("aibot_msg_callback", text_callback("早上好", msgid="m2", chat=GROUP))
    await gateway.push("aibot_msg_callback", text_callback(COMPLAINT, msgid="m3", chat=GROUP))
    await gateway.wait_until(lambda: gateway.sent("aibot_respond_msg"))
    for _ in range(500):  # until the chatter has been processed too
        with Session(socket_runtime.engine) as session:
            chatter = session.exec(select(InboxMessage).where(InboxMessage.text == "早上好")).first()
        if chatter is not None and chatter.processed_at is not None:
            break
        await asyncio.sleep(0.01)
    assert chatter is not None and chatter.processed_at is not None
    assert len(gateway.sent("aibot_respond_msg")) == 1  # the chatter was not answered
    assert the_ticket(socket_runtime).origin_message_id == "m3"  # one ticket, from the complaint


async def test_a_card_click_by_the_grid_worker_confirms_and_the_group_hears_it(socket_runtime, gateway):
    await gateway.push("aibot_msg_callback", text_callback(COMPLAINT, msgid="m4", chat=GROUP))
    await gateway.wait_until(lambda: gateway.sent("aibot_respond_msg"))
    ticket = the_ticket(socket_runtime)
    await gateway.push("aibot_event_callback", card_click(f"t:confirm:{ticket.id}", msgid="click-1", user="liqiang",
                                                          chat=GROUP))
    for _ in range(500):
        if the_ticket(socket_runtime).state != TicketState.PENDING:
            break
        await asyncio.sleep(0.01)
    assert the_ticket(socket_runtime).state == TicketState.CONFIRMED
    assert await socket_runtime.deliver_due() >= 1  # the group's announcement goes out over the connection
    pushed = [f["body"] for f in gateway.sent("aibot_send_msg")]
    assert any(b["chatid"] == GROUP and f"#{ticket.id}" in str(b) for b in pushed)


async def test_a_reply_with_buttons_goes_out_as_a_template_card(socket_runtime, gateway):
    adapter = socket_runtime.adapters["wecom-bot"]
    reply = OutgoingReply(platform="wecom-bot", chat_id=GROUP, text="#7 需要确认",
                          buttons=[[Button(label="确认", data="t:confirm:7"), Button(label="驳回", data="t:reject:7")]])
    await adapter.deliver(reply)
    [sent] = gateway.sent("aibot_send_msg")
    card = sent["body"]["template_card"]
    assert sent["body"]["chatid"] == GROUP and sent["body"]["msgtype"] == "template_card"
    assert card["card_type"] == "button_interaction" and card["sub_title_text"] == "#7 需要确认"
    assert [b["key"] for b in card["button_list"]] == ["t:confirm:7", "t:reject:7"]


async def test_a_send_while_the_connection_is_down_is_retried_later(socket_runtime, gateway):
    from adapters.base import DeliveryError

    adapter = socket_runtime.adapters["wecom-bot"]
    await adapter.stop()
    with pytest.raises(DeliveryError) as refused:
        await adapter.deliver(OutgoingReply(platform="wecom-bot", chat_id=GROUP, text="hello"))
    assert refused.value.retryable and "not open" in refused.value.reason


async def test_serving_in_websocket_mode_connects_at_start_up_and_serves_no_callback_route(tmp_path, gateway, serve_app):
    import httpx

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'linli.sqlite3'}", run_scheduler=False,
                        playground=False, wecom_bot_mode="websocket", wecom_bot_id=BOT_ID, wecom_bot_secret=SECRET,
                        wecom_bot_ws_url=gateway.url, _env_file=None)
    server = serve_app(create_app(settings))
    await asyncio.to_thread(server.__enter__)  # uvicorn with its lifespan, in its own thread and loop
    try:
        await gateway.wait_until(lambda: gateway.subscriptions == 1)
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/webhooks/wecom-bot", content=b"{}")).status_code == 404
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)
    await gateway.wait_until(lambda: gateway.current is None)  # shutting down closed the connection
