"""The whole loop in one playground group, on SQLite and PostgreSQL: report → duplicate joins →
confirm → assign → yellow → red escalation → resolve → survey 「3」 reopens → resolve → 「1」 closes."""

from __future__ import annotations

from datetime import timedelta

from core.ticket_states import TicketState as S

DEMO = "playground:demo"
COMMUNITY_ROOM = "playground:xingfu-staff"  # staff rooms in config/grids.example.yaml
STREET_ROOM = "playground:heping-staff"


def test_a_request_travels_the_whole_loop_to_a_satisfied_close(hood):
    # report
    (created,) = hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    (ticket,) = hood.tickets()
    assert ticket.state is S.PENDING and ticket.grid_id == "xingfu-1"
    assert f"#{ticket.id}" in created.text and "物业服务" in created.text and "王芳" in created.text
    assert [b.data for b in created.buttons[0]] == [f"t:{a}:{ticket.id}" for a in ("confirm", "reject", "merge", "assign")]
    assert [b.label for b in created.buttons[0]] == ["确认", "驳回", "合并", "转派"]

    # a neighbour reports the same problem: joins, no second ticket
    hood.clock.advance(hours=1)
    (joined,) = hood.say("liu", "3栋电梯又坏了，怎么还没人修")
    assert joined.text == f"已有邻居反映过此问题 #{ticket.id}，已为您关注进度"
    assert len(hood.tickets()) == 1
    assert [e.actor for e in hood.events(ticket.id, "reporter")] == ["playground:liu"]

    # the grid worker confirms and assigns (the routing table picks 幸福物业服务中心)
    (confirmed,) = hood.say("wangfang", f"确认 {ticket.id}")
    assert f"#{ticket.id} 已受理" in confirmed.text and "幸福物业服务中心" in confirmed.text
    (assigned,) = hood.say("wangfang", f"派单 {ticket.id}")
    assert "已派单至幸福物业服务中心" in assigned.text
    assert hood.ticket(ticket.id).state is S.ASSIGNED

    _deadlines_turn_it_yellow_then_red_twice(hood, ticket.id)

    # resolved: announced, then the survey to the reporters
    replies = hood.say("wangfang", f"办结 {ticket.id} 已联系物业修好电梯")
    texts = [r.text for r in replies]
    assert f"#{ticket.id} 已办结：已联系物业修好电梯" in texts
    survey = next(r for r in replies if "问题解决了吗" in r.text)
    assert survey.text == f"#{ticket.id} 问题解决了吗？回复 1 满意 / 2 基本满意 / 3 不满意"
    assert [b.data for b in survey.buttons[0]] == [f"t:rate_good:{ticket.id}", f"t:rate_fair:{ticket.id}", f"t:rate_bad:{ticket.id}"]

    # 「3」: reopened, the grid worker told, a new deadline round
    hood.clock.advance(hours=1)
    replies = hood.say("zhang", "3")
    reopened = hood.ticket(ticket.id)
    assert reopened.state is S.IN_PROGRESS and reopened.escalation_level is None
    assert reopened.resolve_due_at == hood.clock.now + timedelta(hours=48)
    assert any(r.text.startswith(f"#{ticket.id} 已重新打开，已通知网格员王芳，") for r in replies)
    assert [r.chat_id for r in replies if r.text.startswith(f"【重办】#{ticket.id}")] == ["xingfu-staff"]

    # resolved again, and 「1」 from the neighbour who joined closes it
    hood.say("wangfang", f"办结 {ticket.id} 已更换电梯控制板")
    (closed,) = hood.say("liu", "1")
    assert "满意" in closed.text
    final = hood.ticket(ticket.id)
    assert final.state is S.CLOSED and final.closed_at == hood.clock.now
    assert [e.data["score"] for e in hood.events(ticket.id, "survey")] == [3, 1]
    moves = [(e.from_state, e.to_state) for e in hood.events(ticket.id) if e.kind in ("transition", "reopen")]
    assert moves == [
        ("pending", "confirmed"), ("confirmed", "assigned"), ("assigned", "resolved"),
        ("resolved", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed"),
    ]
    # after the close the sweeps have nothing left to do
    hood.clock.advance(days=30)
    assert hood.sweep().done == {}


def _deadlines_turn_it_yellow_then_red_twice(hood, number: int) -> None:
    """The SLA sweeps on an assigned property ticket: one 催办 at yellow, then 督办 up one level a day."""
    # property: 48 h to resolve. At 37 h the ticket is yellow: one 催办, however often the sweep runs.
    created_at = hood.ticket(number).created_at
    hood.clock.now = created_at + timedelta(hours=37)
    first, second = hood.sweep(), hood.sweep()
    assert first.done == {"yellow": 1} and second.done == {}
    yellow = hood.outbox(COMMUNITY_ROOM, contains="黄灯催办")  # the grid has no staff room: the community's
    assert len(yellow) == 1 and f"#{number}" in yellow[0].payload["text"]
    assert hood.outbox(DEMO, contains="催办") == []  # never in the residents' group

    # overdue: red, escalated to the community, whose staff room hears it; the residents only that it was pressed on
    hood.clock.now = created_at + timedelta(hours=48, minutes=1)
    assert hood.sweep().done == {"red": 1}
    assert hood.sweep().done == {}
    assert hood.ticket(number).escalation_level == "community"
    (overdue,) = hood.outbox(COMMUNITY_ROOM, contains="红灯督办")
    assert "已上报幸福社区" in overdue.payload["text"]
    assert [r.payload["text"] for r in hood.outbox(DEMO, contains=f"#{number} 已催促办理")] == [
        f"#{number} 已催促办理，有进展会在这里通知您。"]
    assert hood.outbox(DEMO, contains="督办") == []

    # a day later still not resolved: one more level up, to the street
    hood.clock.advance(hours=24)
    assert hood.sweep().done == {"red": 1}
    assert hood.ticket(number).escalation_level == "street"
    assert len(hood.outbox(STREET_ROOM, contains="红灯督办")) == 1
    assert hood.outbox("wecom:grid-workers") == []  # the street's WeCom room: no channel configured here


def test_an_unanswered_survey_closes_the_ticket_after_the_timeout(hood):
    hood.say("zhang", "3栋门禁坏了，进不去")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"办结 {ticket.id} 门禁已修复")
    hood.clock.advance(hours=71)
    assert hood.sweep().done == {}
    hood.clock.advance(hours=2)
    assert hood.sweep().done == {"closed": 1}
    assert hood.ticket(ticket.id).state is S.CLOSED
    assert hood.sweep().done == {}
    (timeout,) = [e for e in hood.events(ticket.id) if e.to_state == "closed"]
    assert timeout.actor == "system" and "超时" in timeout.note
