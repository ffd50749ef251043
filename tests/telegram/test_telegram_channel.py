"""Telegram end to end: webhook → bot → outbox → aiogram → a real HTTP fake of the Bot API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core import outbox, tickets
from core.message import OutgoingReply
from core.models import InboxMessage, OutboxMessage, Ticket, utcnow
from core.ticket_states import TicketState

GROUP = -1001234567890
WORKER = 200000001
RESIDENT = 300000001
COMPLAINT = "3栋楼上漏水到我家，沟通无效，怎么办？"  # names its building: no 「在哪个位置？」 follow-up
# Tests of the Telegram side alone run on SQLite; those that move tickets and outbox rows run on both databases.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _only_ticket(runtime) -> Ticket:
    with Session(runtime.engine) as session:
        (ticket,) = session.exec(select(Ticket)).all()
        return ticket


def _outbox(runtime) -> list[OutboxMessage]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_complaint_in_a_forum_topic_gets_the_ticket_number_in_that_topic_as_a_reply(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        update = updates.text(COMPLAINT, thread_id=77, user_id=RESIDENT)
        response = await svc.post_update(update)
        assert response.status_code == 200
        assert await svc.runtime.deliver_due() == 1

    (sent,) = bot_api.called("sendMessage")
    ticket = _only_ticket(svc.runtime)
    assert sent["chat_id"] == GROUP
    assert sent["message_thread_id"] == 77
    assert sent["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert f"#{ticket.id}" in sent["text"]
    buttons = sent["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["确认", "驳回", "合并", "转派"]
    assert buttons[0]["callback_data"] == f"t:confirm:{ticket.id}"
    assert ticket.thread_id == "77" and ticket.chat_key == f"telegram:{GROUP}"


@SQLITE_ONLY
async def test_chatter_makes_no_bot_api_call(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        assert (await svc.post_update(updates.text("早上好"))).status_code == 200
        assert (await svc.post_update(updates.text("收到"))).status_code == 200
        assert await svc.runtime.deliver_due() == 0
    assert bot_api.called("sendMessage") == []


@SQLITE_ONLY
async def test_wrong_or_missing_secret_is_403_and_nothing_is_stored(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        assert (await svc.post_update(updates.text(COMPLAINT), secret="guess")).status_code == 403
        assert (await svc.post_update(updates.text(COMPLAINT), secret=None)).status_code == 403
        with Session(svc.runtime.engine) as session:
            assert session.exec(select(InboxMessage)).all() == []
            assert session.exec(select(Ticket)).all() == []


@SQLITE_ONLY
async def test_malformed_update_is_400(tg_settings, bot_api, start_service):
    async with start_service(tg_settings) as svc:
        bad_json = await svc.client.post("/webhooks/telegram", content=b"{not json",
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-for-tests"})
        assert bad_json.status_code == 400
        no_chat = await svc.post_update({"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi"}})
        assert no_chat.status_code == 400
        assert "chat" in no_chat.json()["detail"]
        with Session(svc.runtime.engine) as session:
            assert session.exec(select(InboxMessage)).all() == []


@SQLITE_ONLY
async def test_the_same_update_delivered_twice_makes_one_ticket_and_one_reply(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        update = updates.text(COMPLAINT)
        assert (await svc.post_update(update)).status_code == 200
        assert (await svc.post_update(update)).status_code == 200
        await svc.runtime.deliver_due()
        await svc.runtime.deliver_due()
    assert len(bot_api.called("sendMessage")) == 1
    _only_ticket(svc.runtime)


async def test_grid_worker_button_confirms_and_the_card_shows_the_new_state(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        await svc.runtime.deliver_due()
        (card,) = bot_api.sent()

        press = updates.press(f"t:confirm:{_only_ticket(svc.runtime).id}", card, user_id=WORKER)
        assert (await svc.post_update(press)).status_code == 200
        # the press is answered silently right away (no alert): the spinner stops
        (answer,) = bot_api.called("answerCallbackQuery")
        assert answer["callback_query_id"] == press["callback_query"]["id"]
        assert "show_alert" not in answer and "text" not in answer

        assert _only_ticket(svc.runtime).state == TicketState.CONFIRMED
        await svc.runtime.deliver_due()

    announcement = bot_api.called("sendMessage")[-1]
    assert "已受理" in announcement["text"]
    assert announcement["reply_parameters"]["message_id"] == card["message_id"]
    (edit,) = bot_api.called("editMessageText")
    assert edit["chat_id"] == GROUP and edit["message_id"] == card["message_id"]
    assert edit["text"].startswith(card["text"]) and "已受理" in edit["text"]
    assert edit["reply_markup"]["inline_keyboard"] == []  # the buttons are gone


async def test_resident_button_is_refused_with_an_alert_and_nothing_changes(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        await svc.runtime.deliver_due()
        (card,) = bot_api.sent()
        ticket = _only_ticket(svc.runtime)
        with Session(svc.runtime.engine) as session:
            trail_before = len(tickets.events(session, ticket.id))

        press = updates.press(f"t:confirm:{ticket.id}", card, user_id=RESIDENT)
        assert (await svc.post_update(press)).status_code == 200
        await svc.runtime.deliver_due()

        assert _only_ticket(svc.runtime).state == TicketState.PENDING
        with Session(svc.runtime.engine) as session:
            assert len(tickets.events(session, ticket.id)) == trail_before
    (answer,) = bot_api.called("answerCallbackQuery")
    assert answer["callback_query_id"] == press["callback_query"]["id"]
    assert answer["show_alert"] is True and "无权限" in answer["text"]
    assert len(bot_api.called("sendMessage")) == 1  # only the card: nothing posted in the group
    assert bot_api.called("editMessageText") == []


async def test_flood_control_429_waits_retry_after_then_delivers_exactly_once(tg_settings, bot_api, updates, start_service):
    bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    async with start_service(tg_settings) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        before = utcnow()
        assert await svc.runtime.deliver_due() == 0
        (row,) = _outbox(svc.runtime)
        assert row.status == "pending" and "retry after 7" in row.last_error
        assert timedelta(seconds=6) <= row.next_attempt_at - before <= timedelta(seconds=9)

        assert await svc.runtime.deliver_due() == 0  # not due yet: Telegram is not asked again
        assert len(bot_api.called("sendMessage")) == 1

        with Session(svc.runtime.engine) as session:  # the 7 seconds pass
            session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            session.commit()
        assert await svc.runtime.deliver_due() == 1
        assert await svc.runtime.deliver_due() == 0
        (row,) = _outbox(svc.runtime)
    assert row.status == "sent" and row.platform_message_id == str(bot_api.sent()[0]["message_id"])
    assert len(bot_api.called("sendMessage")) == 2  # one refused with 429, then one delivered
    assert len(bot_api.sent()) == 1


@SQLITE_ONLY
async def test_server_errors_are_retried_and_chat_not_found_is_given_up(tg_settings, bot_api, updates, start_service):
    bot_api.fail("sendMessage", 502, "Bad Gateway")
    bot_api.fail("sendMessage", 400, "Bad Request: chat not found")
    async with start_service(tg_settings) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        await svc.post_update(updates.text("小区东门的路灯坏了好几天了，晚上很黑"))
        assert await svc.runtime.deliver_due() == 0
        first, second = _outbox(svc.runtime)
    assert first.status == "pending" and "Bad Gateway" in first.last_error
    assert second.status == "failed" and "chat not found" in second.last_error


async def test_telegram_limits_hold_20_a_minute_per_group_and_30_a_second_overall(tg_settings, bot_api, start_service):
    now = [utcnow()]
    async with start_service(tg_settings, clock=lambda: now[0]) as svc:
        with Session(svc.runtime.engine) as session:
            for i in range(25):
                outbox.enqueue(session, OutgoingReply(platform="telegram", chat_id=str(GROUP), text=f"群消息 {i}"), at=now[0])
            for i in range(15):
                outbox.enqueue(session, OutgoingReply(platform="telegram", chat_id=str(400000000 + i), text="私聊"), at=now[0])
            session.commit()
        assert await svc.runtime.deliver_due() == 30  # the second's budget: 20 for the group, 10 private
        assert await svc.runtime.deliver_due() == 0
        now[0] += timedelta(seconds=1.5)
        assert await svc.runtime.deliver_due() == 5  # the other private chats; the group waits for its minute
        now[0] += timedelta(seconds=60)
        assert await svc.runtime.deliver_due() == 5
    to_group = [c for c in bot_api.called("sendMessage") if c["chat_id"] == GROUP]
    assert len(to_group) == 25 and len(bot_api.called("sendMessage")) == 40
