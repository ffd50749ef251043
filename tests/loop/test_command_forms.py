"""Commands as people really type them: Traditional characters, full-width digits, slashes and
spaces; and actions on a ticket in the wrong state, refused with the state and what to do."""

from __future__ import annotations

import pytest

from bots.commands import parse_command
from bots.community import COMMANDS
from core.chinese import to_simplified
from core.ticket_states import TicketState as S

DEMO = "playground:demo"


def full_width(text: str) -> str:
    """What a phone's full-width input mode produces: ＡＳＣＩＩ letters, digits, ／, ＃ and the ideographic space."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(("text", "name", "number"), [
    ("查詢 12", "status", 12), ("查進度 12", "status", 12), ("我的訴求", "mine", None), ("我的工單", "mine", None),
    ("撤銷 12", "withdraw", 12), ("確認 12", "confirm", 12), ("駁回 12 不屬於社區管轄", "reject", 12),
    ("合併 15 到 12", "merge", 15), ("改類 12 物業服務", "reclassify", 12), ("定級 12 緊急", "urgency", 12),
    ("派單 12", "assign", 12), ("交辦 12", "assign", 12), ("接單 12", "accept", 12), ("進展 12 已聯繫物業", "progress", 12),
    ("備註 12 明天上門", "progress", 12), ("辦結 12 已修好", "resolve", 12), ("重啟 12 還是漏", "reopen", 12),
    ("重啓 12 還是漏", "reopen", 12), ("重新辦理 12 還是漏", "reopen", 12), ("上報 12 物業不配合", "refer", 12),
    ("我來 12", "claim", 12), ("認領 12", "claim", 12), ("代辦 張大爺 3棟502 需要買藥", "relay", None),
    ("幫助", "help", None), ("使用說明", "help", None), ("使用説明", "help", None),
])
def test_every_command_is_understood_in_traditional(text, name, number):
    parsed = parse_command(text, COMMANDS)
    assert parsed is not None and (parsed.name, parsed.number) == (name, number)


def test_every_declared_word_has_a_working_traditional_and_full_width_form():
    import opencc

    s2t = opencc.OpenCC("s2t")
    for command in COMMANDS:
        for word in command.words:
            tail = " 张大爷 3栋502 需要买药" if command.takes_text else " 12" if command.takes_number else ""
            for text in (s2t.convert(word + tail), full_width(word + tail), full_width(s2t.convert(word + tail))):
                parsed = parse_command(text, COMMANDS)
                assert parsed is not None and parsed.name == command.name, text
                if command.takes_number:
                    assert parsed.number == 12, text
        if command.slash:
            parsed = parse_command(full_width(f"/{command.slash} 12"), COMMANDS)
            assert parsed is not None and parsed.name == command.name


def test_full_width_input_is_read_but_a_note_keeps_its_chinese_punctuation():
    parsed = parse_command("辦結　＃１２　已聯繫物業，修好了！", COMMANDS)
    assert (parsed.name, parsed.number, parsed.rest) == ("resolve", 12, "已聯繫物業，修好了！")
    assert parse_command("確認一下明天停水嗎", COMMANDS) is None  # speech, not a command


def test_a_resident_writing_traditional_gets_answers_in_traditional(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    (status,) = hood.say("zhang", f"查詢 {ticket.id}")
    assert status.text.startswith(f"#{ticket.id}【待確認】")
    (mine,) = hood.say("zhang", "我的訴求")
    assert f"#{ticket.id}【待確認】" in mine.text
    (help_text,) = hood.say("zhang", "幫助")
    assert "邻里助手" not in help_text.text and "鄰里助手" in help_text.text
    (full,) = hood.say("wangfang", full_width(f"/status {ticket.id}"))
    assert f"#{ticket.id}【待确认】" in full.text


def test_a_grid_worker_works_a_ticket_through_in_traditional_and_full_width(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    (confirmed,) = hood.say("wangfang", f"確認　{full_width(str(ticket.id))}")
    assert "已受理" in confirmed.text
    assert hood.ticket(ticket.id).state is S.CONFIRMED
    hood.say("wangfang", f"定級 {ticket.id} 加急")
    assert hood.ticket(ticket.id).urgency.value == "urgent"
    hood.say("wangfang", f"改類 {ticket.id} 環境衛生")
    assert hood.ticket(ticket.id).category.value == "sanitation"
    hood.say("wangfang", f"辦結 {ticket.id} 已聯繫物業修好")
    assert hood.ticket(ticket.id).state is S.RESOLVED


def _resolved_errand(hood) -> int:
    """An elderly-care errand a volunteer claimed and finished: resolved, its survey asked."""
    hood.say("care", "代办 张大爷 3栋502 需要买药送药")
    (ticket,) = hood.tickets()
    hood.say("volunteer-liu", f"我来 {ticket.id}")
    hood.say("volunteer-liu", f"办结 {ticket.id} 药已送到")
    assert hood.ticket(ticket.id).state is S.RESOLVED
    return ticket.id


def test_claiming_a_resolved_errand_is_refused_and_keeps_it_resolved_with_its_survey(hood):
    number = _resolved_errand(hood)
    trail = len(hood.events(number))
    for word in ("我来", "我來", "認領", "/claim"):
        (refused,) = hood.say("volunteer-liu", f"{word} {number}")
        text = to_simplified(refused.text)  # 我來 and 認領 are answered in Traditional
        assert text.startswith(f"#{number} 已办结，无需认领"), text
        assert f"重启 {number}" in text  # what to do if it is not done after all
    (accept,) = hood.say("wangfang", f"接单 {number}")
    assert accept.text.startswith(f"#{number} 已办结，无需接单")
    assert hood.ticket(number).state is S.RESOLVED and len(hood.events(number)) == trail
    # the survey is still open: the centre's answer closes the ticket
    hood.say("care", "1")
    assert hood.ticket(number).state is S.CLOSED


def test_a_resolved_errand_is_not_claimed_after_the_survey_times_out_either(hood):
    number = _resolved_errand(hood)
    hood.clock.advance(hours=73)
    hood.sweep()
    (refused,) = hood.say("volunteer-liu", f"我来 {number}")
    assert refused.text.startswith(f"#{number} 已关闭，无需认领")
    assert hood.ticket(number).state is S.CLOSED


def test_wrong_state_refusals_name_the_state_and_what_to_do(hood):
    hood.say("zhang", "3栋电梯坏了")
    hood.say("liu", "3栋电梯又坏了，怎么还没人修啊")  # joins #1
    hood.say("zhang", "5号楼门口垃圾没人清运")
    first, second = hood.tickets()
    (pending,) = hood.say("wangfang", f"接单 {first.id}")
    assert pending.text == f"#{first.id} 当前状态为「待确认」，不能接单。请网格员先发「确认 {first.id}」。"
    hood.say("wangfang", f"确认 {first.id}")
    (again,) = hood.say("wangfang", f"确认 {first.id}")
    assert again.text.startswith(f"#{first.id} 已受理，无需确认")
    (reopen,) = hood.say("wangfang", f"重启 {first.id} 还是坏的")
    assert "还在办理中" in reopen.text and f"办结 {first.id}" in reopen.text
    (withdraw,) = hood.say("zhang", f"撤回 {first.id}")
    assert "已受理" in withdraw.text and "告诉网格员" in withdraw.text
    hood.say("wangfang", f"合并 {second.id} 到 {first.id}")
    (merged,) = hood.say("wangfang", f"确认 {second.id}")
    assert merged.text.startswith(f"#{second.id} 已合并，无需确认") and f"查询 {first.id}" in merged.text
    assert hood.ticket(first.id).state is S.CONFIRMED


def test_a_command_without_its_number_says_what_is_missing_and_how(hood):
    (usage,) = hood.say("wangfang", "/confirm")
    assert "编号" in usage.text and "确认 编号" in usage.text
    (missing,) = hood.say("zhang", "查询 99")
    assert "我的诉求" in missing.text  # how to find one's own numbers


def test_a_resident_refused_a_worker_command_is_told_whom_to_ask(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    (refused,) = hood.say("liu", f"确认 {ticket.id}")
    assert "只有本网格的网格员" in refused.text and "王芳" in refused.text
