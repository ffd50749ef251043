"""core.tickets.lock with two real transactions in two threads (SQLite and PostgreSQL): the second
waits while the first holds the ticket, then sees the first one's move, never the old state."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session

from core import tickets
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState as S


def _open(engine, n: int = 1) -> list[int]:
    with Session(engine) as s:
        made = [tickets.open_ticket(s, text=f"楼道灯坏了 {i}", category=Category.FACILITIES, urgency=Urgency.NORMAL,
                                    chat_key="playground:demo", reporter_key="playground:zhang") for i in range(n)]
        s.commit()
        return [t.id for t in made]


def _moves(engine, number: int) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(e.from_state, e.to_state) for e in tickets.events(s, number) if e.from_state]


def _waits_for(first: Session, locked_by_second) -> list:
    """Run ``locked_by_second(session)`` in another thread while ``first`` holds its locks; check it
    is still waiting, then commit ``first``. Returns what the second call returned."""
    asked, out = threading.Event(), []

    def second():
        with Session(first.get_bind()) as s:
            asked.set()
            out.append(locked_by_second(s))
            s.commit()

    thread = threading.Thread(target=second)
    thread.start()
    assert asked.wait(10)
    thread.join(timeout=0.5)  # bounded: the assertion is that it has NOT finished
    assert thread.is_alive(), "a second transaction got past the lock while the first held it"
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return out


def test_a_second_transaction_waits_and_then_sees_the_first_ones_move(engine):
    (number,) = _open(engine)
    first = Session(engine)
    tickets.move(first, tickets.lock(first, number), S.REJECTED, "playground:wangfang", "不属于社区管辖")

    def second(s: Session) -> S:
        ticket = tickets.lock(s, number)
        if ticket.state is S.PENDING:  # what a read without the lock would go on to do
            tickets.move(s, ticket, S.CONFIRMED, "playground:admin")
        return S(ticket.state)

    assert _waits_for(first, second) == [S.REJECTED]
    assert _moves(engine, number) == [("pending", "rejected")]


def test_locking_two_tickets_in_either_order_waits_for_both(engine):
    a, b = _open(engine, 2)
    first = Session(engine)
    tickets.lock(first, a, b)
    assert _waits_for(first, lambda s: tickets.lock(s, b, a).id) == [b]


@pytest.mark.parametrize("missing", [10**6, tickets.MAX_NUMBER])
def test_locking_a_number_without_a_ticket_gives_none(engine, missing):
    with Session(engine) as s:
        assert tickets.lock(s, missing) is None
