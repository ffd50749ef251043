"""One story through Telegram's fake Bot API (real HTTP on 127.0.0.1; the fixtures of tests/telegram):
complaint → card → the grid worker's button confirms → 派单 → yellow 催办 → 办结 → the resident's 「满意」 button closes."""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from core.models import Ticket
from core.ticket_states import TicketState as S


def _telegram_fixtures():
    path = Path(__file__).resolve().parents[1] / "telegram" / "conftest.py"
    spec = importlib.util.spec_from_file_location("linli_tests_telegram_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


tg = _telegram_fixtures()
bot_api, tg_settings, start_service, updates = tg.bot_api, tg.tg_settings, tg.start_service, tg.updates


def _ticket(runtime) -> Ticket:
    with Session(runtime.engine) as session:
        return session.exec(select(Ticket)).one()


async def test_a_telegram_group_walks_the_loop_from_complaint_to_satisfied(tg_settings, bot_api, updates, start_service, fake_clock):
    async with start_service(tg_settings, clock=fake_clock) as svc:
        await svc.post_update(updates.text("3栋电梯坏了，老人下不了楼"))
        await svc.runtime.deliver_due()
        (card,) = bot_api.sent()
        ticket = _ticket(svc.runtime)
        assert f"#{ticket.id}" in card["text"] and "物业服务" in card["text"]

        await svc.post_update(updates.press(f"t:confirm:{ticket.id}", card, user_id=tg.WORKER))
        await svc.post_update(updates.text(f"派单 {ticket.id}", user_id=tg.WORKER, name=("王", "芳")))
        await svc.runtime.deliver_due()
        assert _ticket(svc.runtime).state is S.ASSIGNED
        assert any("已派单至幸福物业服务中心" in m["text"] for m in bot_api.sent())

        fake_clock.now = ticket.created_at + timedelta(hours=37)
        assert svc.runtime.sweeper.run_once().done == {"yellow": 1}
        assert svc.runtime.sweeper.run_once().done == {}
        await svc.runtime.deliver_due()
        # 催办 is for the staff room (the playground's 幸福社区工作群), never the residents' Telegram group
        assert [m for m in bot_api.sent() if "催办" in m["text"]] == []

        await svc.post_update(updates.text(f"办结 {ticket.id} 已联系物业修好电梯", user_id=tg.WORKER, name=("王", "芳")))
        await svc.runtime.deliver_due()
        survey = next(m for m in bot_api.sent() if "问题解决了吗" in m["text"])
        asked = next(p for p in bot_api.called("sendMessage") if "问题解决了吗" in p["text"])
        buttons = [b["callback_data"] for b in asked["reply_markup"]["inline_keyboard"][0]]
        assert buttons == [f"t:rate_good:{ticket.id}", f"t:rate_fair:{ticket.id}", f"t:rate_bad:{ticket.id}"]

        await svc.post_update(updates.press(f"t:rate_good:{ticket.id}", survey, user_id=tg.RESIDENT))
        await svc.runtime.deliver_due()
        assert _ticket(svc.runtime).state is S.CLOSED
        assert any("您的评价：满意" in m["text"] for m in bot_api.sent())
