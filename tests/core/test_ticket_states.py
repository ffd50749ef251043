"""The state machine, move by move: every pair of states is either legal (in the table) or refused."""

from __future__ import annotations

import itertools

import pytest

from core.ticket_states import LEGAL_MOVES, IllegalTransition, StateType, TicketState, check_move, is_reopen

S = TicketState

EXPECTED_LEGAL = {
    (S.PENDING, S.CONFIRMED), (S.PENDING, S.WITHDRAWN), (S.PENDING, S.REJECTED), (S.PENDING, S.DUPLICATE), (S.PENDING, S.REFERRED),
    (S.CONFIRMED, S.ASSIGNED), (S.CONFIRMED, S.IN_PROGRESS), (S.CONFIRMED, S.RESOLVED),
    (S.CONFIRMED, S.REJECTED), (S.CONFIRMED, S.DUPLICATE), (S.CONFIRMED, S.REFERRED),
    (S.ASSIGNED, S.IN_PROGRESS), (S.ASSIGNED, S.RESOLVED),
    (S.ASSIGNED, S.REJECTED), (S.ASSIGNED, S.DUPLICATE), (S.ASSIGNED, S.REFERRED),
    (S.IN_PROGRESS, S.RESOLVED), (S.IN_PROGRESS, S.ASSIGNED), (S.IN_PROGRESS, S.REFERRED), (S.IN_PROGRESS, S.DUPLICATE),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.IN_PROGRESS),
    (S.CLOSED, S.IN_PROGRESS),
}


@pytest.mark.parametrize("current,target", sorted(EXPECTED_LEGAL))
def test_legal_move_is_allowed(current, target):
    check_move(current, target)


@pytest.mark.parametrize(
    "current,target", [pair for pair in itertools.product(S, S) if pair not in EXPECTED_LEGAL]
)
def test_every_other_move_is_refused_with_the_legal_ones_named(current, target):
    with pytest.raises(IllegalTransition) as err:
        check_move(current, target)
    message = str(err.value)
    assert current.value in message and target.value in message
    for legal in LEGAL_MOVES[current]:
        assert legal.value in message
    if not LEGAL_MOVES[current]:
        assert "final" in message


def test_table_covers_every_state():
    assert set(LEGAL_MOVES) == set(S)


def test_state_types_separate_fixed_from_not_fixed():
    assert {s for s in S if s.type is StateType.OPEN} == {S.PENDING, S.CONFIRMED, S.ASSIGNED, S.IN_PROGRESS}
    assert {s for s in S if s.type is StateType.CLOSED_FIXED} == {S.RESOLVED, S.CLOSED}
    assert S.REJECTED.type is StateType.CLOSED_NOT_FIXED and S.DUPLICATE.type is StateType.CLOSED_NOT_FIXED


def test_reopen_is_only_from_fixed_states():
    assert is_reopen(S.RESOLVED, S.IN_PROGRESS) and is_reopen(S.CLOSED, S.IN_PROGRESS)
    assert not is_reopen(S.REJECTED, S.PENDING)


def test_every_state_has_a_chinese_label():
    assert S.PENDING.label == "待确认" and S.CONFIRMED.label == "已受理" and S.DUPLICATE.label == "已合并"
