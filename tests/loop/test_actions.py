"""The actions module is the one place that changes tickets; the state table is the one source of legal moves."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import Session, select

from bots.actions import ACTIONS, ActionError, IllegalMove, NotAllowed, UnknownTicket
from bots.replies import enqueue
from core import tickets
from core.models import OutboxMessage, Person, Ticket
from core.taxonomy import Category, Urgency
from core.ticket_states import LEGAL_MOVES, TicketState

ARGS = {"merge": {"into": 1}, "reclassify": {"category": "环境卫生"}, "urgency": {"urgency": "加急"},
        "assign": {"department": "市政所"}}


def _person(session: Session, key: str) -> Person:
    return session.exec(select(Person).where(Person.key == key)).one()


def _ticket_in(session: Session, state: TicketState, category: Category = Category.ELDERLY_CARE) -> Ticket:
    ticket = tickets.open_ticket(session, text="独居老人需要买药", category=category, urgency=Urgency.NORMAL,
                                 chat_key="playground:demo", reporter_key="playground:zhang", grid_id="xingfu-1")
    ticket.state = state  # set up the case directly; the actions under test must respect the table from here
    session.add(ticket)
    session.flush()
    return ticket


def test_every_action_from_every_state_moves_only_along_the_state_table(hood):
    """From each state, each action either refuses with an ActionError and changes nothing, or makes only
    moves that LEGAL_MOVES allows."""
    actions = hood.runtime.bot.actions
    for state, action in itertools.product(TicketState, sorted(ACTIONS)):
        with Session(hood.runtime.engine) as session:
            master = _ticket_in(session, TicketState.CONFIRMED)
            ticket = _ticket_in(session, state)
            actor = _person(session, "playground:zhang" if action == "withdraw" else
                            "playground:volunteer-liu" if action == "claim" else "playground:wangfang")
            before = len(tickets.events(session, ticket.id))
            args = {**ARGS.get(action, {}), **({"into": master.id} if action == "merge" else {})}
            try:
                actions.perform(session, ticket.id, action, actor, note="说明", **args)
            except ActionError:
                assert TicketState(ticket.state) is state, (state, action)
                assert len(tickets.events(session, ticket.id)) == before, (state, action)
            else:
                for event in tickets.events(session, ticket.id)[before:]:
                    if event.to_state:
                        assert TicketState(event.to_state) in LEGAL_MOVES[TicketState(event.from_state)], (state, action)
            session.rollback()


def test_the_console_calls_the_same_actions_and_queues_the_same_announcements(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    actions = hood.runtime.bot.actions
    with Session(hood.runtime.engine, expire_on_commit=False) as session:
        worker = _person(session, "playground:wangfang")
        replies = actions.perform(session, ticket.id, "confirm", worker)  # no origin chat: the console
        rows = enqueue(session, replies, prefix="console:req-1")
        again = enqueue(session, replies, prefix="console:req-1")  # a retried request queues nothing twice
        session.commit()
    assert [r.chat_key for r in rows] == ["playground:demo"] and again == []
    assert "已受理" in rows[0].payload["text"] and rows[0].payload["reply_to_message_id"] == ticket.origin_message_id
    assert hood.ticket(ticket.id).state is TicketState.CONFIRMED


def test_refusals_are_typed_and_explain_themselves(hood):
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    actions = hood.runtime.bot.actions
    with Session(hood.runtime.engine) as session:
        resident = _person(session, "playground:liu")
        worker = _person(session, "playground:wangfang")
        with pytest.raises(NotAllowed, match="网格员"):
            actions.perform(session, ticket.id, "confirm", resident)
        with pytest.raises(IllegalMove, match="待确认"):
            actions.perform(session, ticket.id, "accept", worker)
        with pytest.raises(UnknownTicket, match="#404"):
            actions.perform(session, 404, "confirm", worker)
        with pytest.raises(ActionError, match="不认识的操作"):
            actions.perform(session, ticket.id, "delete", worker)
        assert session.exec(select(OutboxMessage)).all() != []  # only the filing reply exists
