"""Chat commands racing each other and the SLA sweeper on one ticket, through the real runtime from
threads released together (SQLite and PostgreSQL): whatever order they land in, the ticket moves out
of its state once, and the other side is refused or finds nothing left to do."""

from __future__ import annotations

from core.ticket_states import TicketState as S


def moves_out_of(hood, number: int, state: S) -> list[tuple[str, str]]:
    return [(e.actor, e.to_state) for e in hood.events(number) if e.from_state == state.value]


def text_of(replies) -> str:
    return "\n".join(r.text for r in replies)


def test_two_people_claiming_an_elder_s_request_at_once_one_gets_it_the_other_is_told_who(hood, at_once):
    hood.say("care", "代办 张大爷 3栋502 需要买药送药")
    (ticket,) = hood.tickets()
    assert ticket.state is S.CONFIRMED
    liu, wang = at_once(lambda: hood.say("volunteer-liu", f"我来 {ticket.id}"), lambda: hood.say("wangfang", f"我来 {ticket.id}"))
    (moved,) = moves_out_of(hood, ticket.id, S.CONFIRMED)
    winner = hood.ticket(ticket.id).assignee
    assert moved == (winner, "in_progress")
    loser = wang if winner == "playground:volunteer-liu" else liu
    name = "志愿者小刘" if winner == "playground:volunteer-liu" else "网格员王芳"
    assert f"#{ticket.id} 已由{name}" in text_of(loser) or "该诉求刚被他人处理" in text_of(loser), text_of(loser)


def test_a_withdrawal_and_a_confirmation_at_once_only_one_happens(hood, at_once):
    for i in range(3):
        hood.say("zhang", f"楼上漏水到我家了，{i}号房")
        number = hood.tickets()[-1].id
        zhang, wang = at_once(lambda: hood.say("zhang", f"撤回 {number}"),  # noqa: B023 - both run before the next round
                              lambda: hood.say("wangfang", f"确认 {number}"))  # noqa: B023
        (moved,) = moves_out_of(hood, number, S.PENDING)
        state = hood.ticket(number).state
        loser = wang if moved[0] == "playground:zhang" else zhang
        assert state.label in text_of(loser) and ("不能" in text_of(loser) or "刚被他人处理" in text_of(loser))


def test_a_survey_answer_and_the_sweep_s_timeout_close_at_once_only_one_happens(hood, at_once):
    hood.say("zhang", "楼上漏水到我家了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"办结 {ticket.id} 已修好")
    assert hood.ticket(ticket.id).state is S.RESOLVED
    hood.clock.advance(hours=hood.runtime.settings.survey_timeout_hours + 1)
    at_once(lambda: hood.say("zhang", "3"), hood.sweep)
    (moved,) = moves_out_of(hood, ticket.id, S.RESOLVED)
    assert hood.ticket(ticket.id).state.value == moved[1]
    assert moved in (("playground:zhang", "in_progress"), ("system", "closed"))
    hood.clock.advance(hours=1)
    assert hood.sweep().done.get("closed", 0) == 0  # nothing left for a later sweep either
