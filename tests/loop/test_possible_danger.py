"""The possible-danger tier in the bot (issue 13), on SQLite and PostgreSQL: the resident gets the number
and one line of advice at once, the grid worker sees the ticket flagged, the level above is not alarmed; a
confirmed emergency still alerts the level above with the kind's advice."""

from __future__ import annotations

from core.classify import Classification
from core.taxonomy import Category, Urgency

WORKER_ROOM = "xingfu-staff"  # playground:xingfu-staff, 幸福社区's staff room: the demo group's worker
STREET_CHAT = "heping-staff"  # playground:heping-staff, 和平街道's staff room: the level above


def possible_gas(text: str) -> Classification:
    return Classification(True, Category.UTILITIES, Urgency.URGENT, 0.5, keywords=("gas",), emergency_kind="gas",
                          possible_danger=True)


def test_a_possible_danger_gets_number_and_advice_flags_the_worker_and_does_not_alarm_the_level_above(make_neighbourhood):
    hood = make_neighbourhood(classify=possible_gas)
    replies = hood.say("zhang", "楼道里好像有股煤气味")
    (ticket,) = hood.tickets()
    assert ticket.urgency is Urgency.URGENT
    assert ticket.state.value == "pending"  # the worker checks it; nothing is confirmed on a guess
    answer, flagged = replies  # the resident and the worker's staff room; nothing to the street's
    assert answer.chat_id == "demo" and flagged.chat_id == WORKER_ROOM and flagged.text.startswith("【疑似紧急】")
    assert "燃气抢修电话96777" in answer.text and "不要开关电器" in answer.text  # the number and the advice, at once
    assert "【疑似紧急】" in answer.text and f"#{ticket.id}" in answer.text  # the card the worker sees is flagged
    assert "上级" not in answer.text
    assert hood.outbox("playground:" + STREET_CHAT) == []


def test_a_second_report_of_a_possible_danger_gets_the_advice_again(make_neighbourhood):
    hood = make_neighbourhood(classify=possible_gas)
    hood.say("zhang", "楼道里好像有股煤气味")
    (again,) = hood.say("liu", "楼道里好像有股煤气味")
    assert "不要开关电器" in again.text and len(hood.tickets()) == 1


def test_the_real_classifier_makes_an_unsure_gas_report_a_possible_danger(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    replies = hood.say("zhang", "楼道里好大一股煤气味 不知道是哪家的")
    (ticket,) = hood.tickets()
    assert ticket.urgency is Urgency.URGENT
    assert [r.chat_id for r in replies] == ["demo", WORKER_ROOM] and "燃气抢修电话96777" in replies[0].text


def test_a_confirmed_emergency_still_alerts_the_level_above_with_the_kinds_advice(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    replies = hood.say("zhang", "厨房油锅着火了 火窜到抽油烟机上了 快来人")
    (ticket,) = hood.tickets()
    assert ticket.urgency is Urgency.EMERGENCY and ticket.state.value == "confirmed"
    assert "119" in replies[0].text and "不要乘电梯" in replies[0].text
    # the level above the demo group's grid is 幸福社区, whose staff room is also where its workers hear
    assert any(r.chat_id == WORKER_ROOM and r.text.startswith(f"【紧急】#{ticket.id}") for r in replies)
    assert "和上级" in replies[0].text


def test_a_burst_pipe_is_told_the_main_valve_not_119(make_neighbourhood):
    hood = make_neighbourhood(classify=None)
    replies = hood.say("zhang", "家里水管爆了 水哗哗往外喷 关不住")
    assert "总水阀" in replies[0].text and "119" not in replies[0].text
