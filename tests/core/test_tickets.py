"""Ticket operations on real databases: numbers, events as an append-only audit trail, reporters."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from core import tickets
from core.models import TicketEvent
from core.taxonomy import Category, Urgency
from core.ticket_states import IllegalTransition, TicketState


def _open(session: Session, text: str = "楼上漏水到我家", reporter: str = "playground:zhang"):
    return tickets.open_ticket(
        session, text=text, category=Category.NEIGHBOR, urgency=Urgency.NORMAL,
        chat_key="playground:demo", reporter_key=reporter, grid_id="xingfu-1", origin_message_id="m1",
    )


@pytest.fixture
def session(runtime):
    with Session(runtime.engine, expire_on_commit=False) as s:
        yield s


def test_numbers_are_unique_and_increasing(session):
    numbers = [_open(session, f"问题{i}").id for i in range(5)]
    session.commit()
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_every_move_writes_an_event_with_actor_states_and_note(session):
    ticket = _open(session)
    tickets.move(session, ticket, TicketState.CONFIRMED, "playground:wangfang", "已核实")
    tickets.move(session, ticket, TicketState.RESOLVED, "playground:wangfang", "已修好")
    session.commit()
    trail = tickets.events(session, ticket.id)
    assert [(e.kind, e.from_state, e.to_state) for e in trail] == [
        ("created", None, "pending"), ("transition", "pending", "confirmed"), ("transition", "confirmed", "resolved"),
    ]
    assert trail[1].actor == "playground:wangfang" and trail[2].note == "已修好"
    assert ticket.confirmed_at is not None and ticket.resolved_at is not None


def test_illegal_move_changes_nothing(session):
    ticket = _open(session)
    session.commit()
    with pytest.raises(IllegalTransition):
        tickets.move(session, ticket, TicketState.CLOSED, "playground:wangfang")
    assert ticket.state is TicketState.PENDING
    assert len(tickets.events(session, ticket.id)) == 1


def test_reopen_clears_resolution_times(session):
    ticket = _open(session)
    for target in (TicketState.CONFIRMED, TicketState.RESOLVED, TicketState.CLOSED):
        tickets.move(session, ticket, target, "playground:wangfang")
    event = tickets.move(session, ticket, TicketState.IN_PROGRESS, "playground:zhang", "还在漏")
    assert event.kind == "reopen" and ticket.resolved_at is None and ticket.closed_at is None


def test_audit_trail_cannot_be_edited_or_deleted(session, runtime):
    ticket = _open(session)
    session.commit()
    with runtime.engine.connect() as conn:
        with pytest.raises(DBAPIError):
            conn.execute(sa.update(TicketEvent).where(TicketEvent.ticket_id == ticket.id).values(note="forged"))
        conn.rollback()
        with pytest.raises(DBAPIError):
            conn.execute(sa.delete(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        conn.rollback()


def test_several_people_can_report_the_same_ticket_once_each(session):
    ticket = _open(session)
    assert tickets.add_reporter(session, ticket, "playground:liu", "playground:demo", message_id="m2")
    assert not tickets.add_reporter(session, ticket, "playground:liu", "playground:demo", message_id="m3")
    session.commit()
    assert [r.person_key for r in tickets.reporters(session, ticket.id)] == ["playground:zhang", "playground:liu"]


def test_unknown_number_raises_a_clear_error(session):
    with pytest.raises(tickets.TicketNotFound, match="#999"):
        tickets.get_ticket(session, 999)
