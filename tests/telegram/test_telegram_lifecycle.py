"""Telegram start-up modes, chats that change id, and edited messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.models import Chat, InboxMessage, Ticket, TicketEvent, TicketReporter
from core.ticket_states import TicketState

ROOT = Path(__file__).resolve().parents[2]
GROUP = -1001234567890
OLD_GROUP = -987654321
RESIDENT = 300000001
COMPLAINT = "3栋楼上漏水到我家，沟通无效，怎么办？"  # names its building: no 「在哪个位置？」 follow-up
# Tests of the Telegram side alone run on SQLite; those that move tickets and outbox rows run on both databases.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _until(condition, timeout: float = 10.0) -> None:
    """Wait for something another task does (bounded); fails the test when it never happens."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


@SQLITE_ONLY
async def test_webhook_is_registered_on_start_with_the_secret(tg_settings, bot_api, start_service):
    settings = tg_settings.model_copy(update={"public_url": "https://linli.example.org/"})
    settings.model_fields_set.add("public_url")
    async with start_service(settings):
        (call,) = bot_api.called("setWebhook")
    assert call["url"] == "https://linli.example.org/webhooks/telegram"
    assert call["secret_token"] == "s3cret-for-tests"
    assert set(call["allowed_updates"]) == {"message", "edited_message", "callback_query", "my_chat_member"}


@SQLITE_ONLY
async def test_without_a_public_url_the_webhook_is_not_registered(tg_settings, bot_api, start_service):
    async with start_service(tg_settings):
        pass
    assert bot_api.called("setWebhook") == []


@SQLITE_ONLY
async def test_polling_mode_takes_updates_and_confirms_them_with_the_offset(tg_settings, bot_api, updates, start_service):
    settings = tg_settings.model_copy(update={"telegram_mode": "polling"})
    update = updates.text(COMPLAINT)
    bot_api.push_update(update)

    def stored() -> int:
        with Session(svc.runtime.engine) as session:
            return len(session.exec(select(InboxMessage)).all())

    async with start_service(settings, poll_timeout=1) as svc:
        assert (await svc.post_update(updates.text("x"))).status_code == 404  # no webhook route when polling
        await _until(lambda: stored() == 1)
        await _until(lambda: any(p.get("offset") == update["update_id"] + 1 for p in bot_api.called("getUpdates")))
        assert await svc.runtime.deliver_due() == 1

    methods = bot_api.methods()
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    (reply,) = bot_api.called("sendMessage")
    assert reply["chat_id"] == GROUP and "#1" in reply["text"]


async def test_group_migrating_to_a_supergroup_keeps_its_grid_and_tickets(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        with Session(svc.runtime.engine) as session:  # an ordinary group bound to the grid before it migrates
            session.add(Chat(key=f"telegram:{OLD_GROUP}", platform="telegram", chat_id=str(OLD_GROUP), grid_id="xingfu-1",
                             title="幸福里老群", is_group=True))
            session.commit()
        await svc.post_update(updates.text(COMPLAINT, chat_id=OLD_GROUP))
        await svc.runtime.deliver_due()

        # Telegram sends the service message in the old group, then one in the new supergroup.
        new_group = -1009876543210
        for side in (updates.message(None, chat_id=OLD_GROUP, migrate_to_chat_id=new_group),
                     updates.message(None, chat_id=new_group, migrate_from_chat_id=OLD_GROUP)):
            side["chat"]["type"] = "group" if side["chat"]["id"] == OLD_GROUP else "supergroup"
            assert (await svc.post_update(updates.update(message=side))).status_code == 200

        with Session(svc.runtime.engine) as session:
            (ticket,) = session.exec(select(Ticket)).all()
            assert ticket.chat_key == f"telegram:{new_group}"
            assert {r.chat_key for r in session.exec(select(TicketReporter))} == {f"telegram:{new_group}"}
            moved = session.exec(select(TicketEvent).where(TicketEvent.kind == "chat_migrated")).all()
            assert len(moved) == 1  # the second service message moved nothing more
            assert session.get(Chat, f"telegram:{new_group}").grid_id == "xingfu-1"
            assert not session.get(Chat, f"telegram:{OLD_GROUP}").active

        # the bot keeps working in the new supergroup, for old and new tickets
        await svc.post_update(updates.text(f"查询 {ticket.id}", chat_id=new_group))
        await svc.post_update(updates.text("小区东门的路灯坏了好几天了，晚上很黑", chat_id=new_group))
        await svc.runtime.deliver_due()
        with Session(svc.runtime.engine) as session:
            assert len(session.exec(select(Ticket)).all()) == 2
    status, created = bot_api.called("sendMessage")[-2:]
    assert status["chat_id"] == new_group and f"#{ticket.id}" in status["text"]
    assert created["chat_id"] == new_group and "#2" in created["text"]


@SQLITE_ONLY
async def test_a_reply_to_a_group_that_just_migrated_is_sent_to_the_supergroup(tg_settings, bot_api, updates, start_service):
    new_group = -1009876543210
    bot_api.fail("sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=new_group)
    async with start_service(tg_settings) as svc:
        with Session(svc.runtime.engine) as session:
            session.add(Chat(key=f"telegram:{OLD_GROUP}", platform="telegram", chat_id=str(OLD_GROUP), grid_id="xingfu-1"))
            session.commit()
        await svc.post_update(updates.text(COMPLAINT, chat_id=OLD_GROUP))
        assert await svc.runtime.deliver_due() == 1
    first, second = bot_api.called("sendMessage")
    assert first["chat_id"] == OLD_GROUP and second["chat_id"] == new_group


@SQLITE_ONLY
async def test_an_edit_updates_a_pending_ticket_but_not_a_confirmed_one(tg_settings, bot_api, updates, start_service):
    async with start_service(tg_settings) as svc:
        original = updates.message("楼上漏水到我家")
        await svc.post_update(updates.update(message=original))
        await svc.post_update(updates.edited(original, "楼上漏水到我家，天花板在滴水"))
        with Session(svc.runtime.engine) as session:
            (ticket,) = session.exec(select(Ticket)).all()
            assert ticket.text == "楼上漏水到我家，天花板在滴水"
            (edit,) = session.exec(select(TicketEvent).where(TicketEvent.kind == "edited")).all()
            assert edit.data["before"]["text"] == "楼上漏水到我家"
            ticket.state = TicketState.CONFIRMED
            session.add(ticket)
            session.commit()
        later = {**original, "edit_date": original["date"] + 120}
        await svc.post_update(updates.edited(later, "算了"))
        with Session(svc.runtime.engine) as session:
            assert session.exec(select(Ticket)).one().text == "楼上漏水到我家，天花板在滴水"


@SQLITE_ONLY
async def test_a_group_the_bot_was_removed_from_is_ignored_until_it_is_added_again(tg_settings, bot_api, updates, start_service):
    def membership(old: str, new: str) -> dict:
        bot = {"id": 123456789, "is_bot": True, "first_name": "邻里助手", "username": "linli_test_bot"}
        return updates.update(my_chat_member={
            "chat": updates.chat(GROUP), "from": updates.user(200000001, "王", "芳"), "date": 1767225600,
            "old_chat_member": {"status": old, "user": bot}, "new_chat_member": {"status": new, "user": bot},
        })

    def count_tickets() -> int:
        with Session(svc.runtime.engine) as session:
            return len(session.exec(select(Ticket)).all())

    async with start_service(tg_settings) as svc:
        await svc.post_update(membership("member", "kicked"))
        await svc.post_update(updates.text(COMPLAINT))
        assert count_tickets() == 0
        await svc.post_update(membership("left", "administrator"))
        await svc.post_update(updates.text(COMPLAINT))
        assert count_tickets() == 1


def test_without_a_token_the_service_starts_and_never_imports_aiogram(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        from bots.app import create_app
        from config.settings import Settings

        settings = Settings(data_dir={str(tmp_path)!r}, run_outbox=False, run_scheduler=False, _env_file=None)
        app = create_app(settings)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert client.post("/webhooks/telegram", json={{}}).status_code == 404
        assert "aiogram" not in sys.modules, "aiogram was imported"
        assert "adapters.telegram.channel" not in sys.modules
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_webhook_secret_must_be_one_telegram_accepts_and_defaults_to_one_derived_from_the_token():
    from adapters.telegram.channel import webhook_secret
    from config.settings import Settings

    token = "123456789:AAE-linli-test-token"
    derived = webhook_secret(Settings(telegram_token=token, _env_file=None))
    assert derived == webhook_secret(Settings(telegram_token=token, _env_file=None))  # the same on every instance
    assert derived.isalnum() and token not in derived
    with pytest.raises(ValueError, match="A-Z, a-z, 0-9"):
        webhook_secret(Settings(telegram_token=token, telegram_webhook_secret="has spaces!", _env_file=None))
