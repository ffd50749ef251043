"""The command router: each chat command declared once, and everything about it derived from that
declaration — dispatch, help by role, README's table; numbers no ticket can have; 转办."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bots.chat_commands import README_END, README_START, ROUTER, readme_table
from bots.commands import Command, Router
from core import ticket_actions
from core.chinese import to_simplified
from core.models import Person
from core.ticket_states import TicketState as S

README = Path(__file__).resolve().parents[2] / "README.md"
TOO_BIG = (2**31, 2**32, 99_999_999_999)


def test_readme_command_table_is_the_routers_table():
    text = README.read_text(encoding="utf-8")
    assert README_START in text and README_END in text, "README lost its generated command table"
    block = text[text.index(README_START):text.index(README_END) + len(README_END)]
    assert block == readme_table(), "README's command table is stale: run `python -m bots.chat_commands --write README.md`"


def test_the_readme_check_fails_when_a_command_is_added_to_the_table():
    router = Router()
    for command in ROUTER.commands:
        router.add(command)
    router.add(Command("ping", ("打个招呼",), "打个招呼", who="anyone"))
    assert readme_table(router) != readme_table() and "打个招呼" in readme_table(router)


def test_a_word_or_slash_form_can_be_declared_only_once():
    router = Router()
    router.add(Command("status", ("查询",), "查询 编号"))
    for clash in (Command("lookup", ("查詢",), "x"), Command("other", ("看看",), "x", slash="status"),
                  Command("third", ("瞧瞧",), "x", aliases=("status",)), Command("status", ("问问",), "x")):
        with pytest.raises(ValueError, match="already declared"):
            router.add(clash)


def test_every_ticket_action_command_is_an_action_of_the_table_and_takes_its_roles():
    for command in ROUTER.commands:
        action = ticket_actions.ACTIONS.get(command.name)
        if action is not None:
            assert command.roles == action.who.roles and command.takes_number, command.name
    chat_actions = {c.name for c in ROUTER.commands} & set(ticket_actions.ACTIONS)
    assert set(ticket_actions.ACTIONS) - chat_actions == {"info"}  # 补充 is a reply to the bot's message


@pytest.mark.parametrize(("who", "shown", "hidden"), [
    ("zhang", ["查询", "我的诉求", "撤回", "帮助"], ["确认", "办结", "我来", "代办", "通知", "转办"]),
    ("volunteer-liu", ["查询", "我来", "接单", "办结", "进展"], ["确认", "驳回", "代办", "通知"]),
    ("care", ["查询", "代办"], ["确认", "办结", "我来", "通知"]),
    ("wangfang", ["确认", "驳回", "合并", "派单", "办结", "重启", "上报", "转办", "代办", "通知", "/confirm"], []),
])
def test_help_shows_a_person_only_the_commands_their_role_may_use(hood, who, shown, hidden):
    (page,) = hood.say(who, "帮助")
    lines = page.text.splitlines()[1:]
    words = {line.lstrip("· ").split()[0].split("（")[0].split("，")[0] for line in lines}
    assert len(words) == len(lines) == len(ROUTER.for_role(hood_role(hood, who)))
    for word in shown:
        assert word in page.text, (who, word, page.text)
    for word in hidden:
        assert word not in words, (who, word, page.text)


def hood_role(hood, who: str) -> str:
    with Session(hood.runtime.engine) as s:
        return s.exec(select(Person).where(Person.key == f"playground:{who}")).one().role


def test_help_in_traditional_lists_the_same_commands(hood):
    (simplified,) = hood.say("zhang", "帮助")
    (traditional,) = hood.say("zhang", "幫助")
    assert traditional.text != simplified.text and to_simplified(traditional.text) == simplified.text


@pytest.mark.parametrize("number", TOO_BIG)
def test_a_ticket_number_no_ticket_can_have_gets_the_not_found_answer(hood, number):
    """On PostgreSQL a number over 2^31 in session.get raises DataError; every command answers not found."""
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    for who, text in (("zhang", f"查询 {number}"), ("wangfang", f"确认 {number}"), ("wangfang", f"/status {number}"),
                      ("wangfang", f"办结 {number} 已修好"), ("zhang", f"撤回 {number}"),
                      ("wangfang", f"合并 {ticket.id} 到 {number}")):
        (answer,) = hood.say(who, text)
        assert answer.text.startswith(f"没有找到编号 #{number} 的诉求"), (text, answer.text)
    for data in (f"t:confirm:{number}", f"t:merge:{number}", f"t:merge:{ticket.id}:{number}", f"t:file:{number}",
                 f"t:rate_good:{number}"):
        (answer,) = hood.press("wangfang", data)
        assert f"#{number}" in answer.text and "没有找到" in answer.text, (data, answer.text)
    assert hood.ticket(ticket.id).state is S.PENDING


def test_a_button_that_names_no_ticket_action_does_nothing(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    assert hood.press("wangfang", f"t:notice:{ticket.id}") == []
    assert hood.press("wangfang", f"t:help:{ticket.id}") == []


def test_slash_aliases_reach_their_command(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"确认 {ticket.id}")
    (noted,) = hood.say("wangfang", f"/note {ticket.id} 已联系物业")
    assert "已联系物业" in noted.text
    assert hood.events(ticket.id, "note")[-1].note == "已联系物业"


def test_transfer_closes_a_ticket_outside_the_communitys_remit_and_says_where_it_went(hood):
    hood.say("zhang", "小区外马路边的垃圾站满了，是市政的")
    (ticket,) = hood.tickets()
    (refused,) = hood.say("zhang", f"转办 {ticket.id} 已转12345")
    assert "只有本网格的网格员" in refused.text and hood.ticket(ticket.id).state is S.PENDING
    (usage,) = hood.say("wangfang", f"转办 {ticket.id}")
    assert "请写明转给了谁" in usage.text and hood.ticket(ticket.id).state is S.PENDING
    replies = hood.say("wangfang", f"转办 {ticket.id} 已转12345热线，由区城管局处理")
    assert any(f"#{ticket.id} 不属于社区办理范围，已转办：已转12345热线" in r.text for r in replies)
    after = hood.ticket(ticket.id)
    assert after.state is S.REFERRED and not S(after.state).is_open and after.state.type.value == "closed_not_fixed"
    (move,) = [e for e in hood.events(ticket.id) if e.to_state == S.REFERRED.value]
    assert move.note == "已转12345热线，由区城管局处理"
    (again,) = hood.say("wangfang", f"确认 {ticket.id}")
    assert again.text.startswith(f"#{ticket.id} 已转办，无需确认") and "重新反映" in again.text


def test_available_actions_follow_the_table_for_each_person(hood):
    hood.say("care", "代办 张大爷 3栋502 需要买药送药")
    hood.say("zhang", "3栋电梯坏了")
    for who in ("liu", "volunteer-liu", "wangfang"):
        hood.say(who, "大家好")  # chatter: they are known from now on
    errand, lift = hood.tickets()
    with Session(hood.runtime.engine) as s:
        people = {p.key.split(":")[1]: p for p in s.exec(select(Person).where(Person.key.like("playground:%")))}

        def names(number: int, who: str, **kw) -> list[str]:
            return [a.name for a in ticket_actions.available(s, s.get(type(errand), number), people[who], **kw)]

        assert names(lift.id, "wangfang") == ["confirm", "reject", "merge", "assign", "progress", "resolve",
                                              "reclassify", "urgency", "refer", "transfer", "info"]
        assert names(lift.id, "wangfang", desk=True)[-1] == "transfer"
        assert names(lift.id, "zhang") == ["withdraw", "info"]
        assert names(lift.id, "liu") == ["info"]  # not hers: she may only add what she knows
        # a trusted care centre's errand is confirmed at once: a volunteer may claim it; a lift is not theirs
        assert errand.state == S.CONFIRMED and names(errand.id, "volunteer-liu") == ["claim", "info"]
        assert "claim" not in names(errand.id, "wangfang", desk=True)
    hood.say("wangfang", f"确认 {lift.id}")
    with Session(hood.runtime.engine) as s:
        assert "claim" not in names(lift.id, "volunteer-liu") and "accept" in names(lift.id, "wangfang")
    hood.say("volunteer-liu", f"我来 {errand.id}")
    with Session(hood.runtime.engine) as s:
        assert names(errand.id, "volunteer-liu") == ["progress", "resolve", "info"]  # now its assignee


def test_every_action_of_the_table_has_a_handler(hood):
    assert set(hood.runtime.bot.actions.handlers) == set(ticket_actions.ACTIONS)
