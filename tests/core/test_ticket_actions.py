"""The action table is held against the state machine: every move an action makes is legal, every
legal move is made by an action or by the system, and every state has a way out or is final."""

from __future__ import annotations

import dataclasses

import pytest

from core.ticket_actions import ACTIONS, OPEN, SYSTEM_MOVES, TABLE, Who, check_table
from core.ticket_states import LEGAL_MOVES, TicketState

S = TicketState


def test_the_table_agrees_with_the_legal_moves():
    check_table()  # also run at import; here so a failure names this test
    made = set(SYSTEM_MOVES).union(*(a.moves for a in TABLE))
    assert made == {(a, b) for a, targets in LEGAL_MOVES.items() for b in targets}


def test_an_action_making_an_illegal_move_is_caught():
    bad = dataclasses.replace(ACTIONS["reopen"], moves=ACTIONS["reopen"].moves | {(S.WITHDRAWN, S.IN_PROGRESS)})
    table = tuple(bad if a.name == "reopen" else a for a in TABLE)
    with pytest.raises(ValueError, match="reopen makes moves LEGAL_MOVES does not allow"):
        check_table(table)


def test_a_legal_move_without_an_action_is_caught():
    table = tuple(a for a in TABLE if a.name != "transfer")
    with pytest.raises(ValueError, match="legal moves no action makes.*referred"):
        check_table(table)


def test_an_action_moving_from_a_state_it_does_not_apply_in_is_caught():
    bad = dataclasses.replace(ACTIONS["confirm"], states=frozenset({S.CONFIRMED}), buttons={})
    with pytest.raises(ValueError, match="confirm moves from states it does not apply in"):
        check_table(tuple(bad if a.name == "confirm" else a for a in TABLE))


def test_a_button_in_a_state_the_action_does_not_apply_in_is_caught():
    bad = dataclasses.replace(ACTIONS["accept"], buttons={S.RESOLVED: "button_accept"})
    with pytest.raises(ValueError, match="accept has buttons"):
        check_table(tuple(bad if a.name == "accept" else a for a in TABLE))


def test_referred_is_reached_by_transfer_with_a_note_by_staff_only():
    transfer = ACTIONS["transfer"]
    assert transfer.moves == {(s, S.REFERRED) for s in OPEN} and transfer.note and transfer.who is Who.STAFF


def test_every_state_is_either_final_or_has_an_action_out_of_it():
    for state in S:
        if LEGAL_MOVES[state]:
            assert any(state in a.states and a.moves for a in TABLE) or any(m[0] is state for m in SYSTEM_MOVES), state
