"""Ticket states and the table of legal moves.

States are typed the FixMyStreet way: open, closed-fixed, closed-not-fixed. A ticket
that was closed without a fix is never counted as fixed.
"""

from __future__ import annotations

from enum import StrEnum


class StateType(StrEnum):
    OPEN = "open"
    CLOSED_FIXED = "closed_fixed"
    CLOSED_NOT_FIXED = "closed_not_fixed"


class TicketState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REFERRED = "referred"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def type(self) -> StateType:
        return STATE_TYPES[self]

    @property
    def is_open(self) -> bool:
        return self.type is StateType.OPEN


STATE_LABELS: dict[TicketState, str] = {
    TicketState.PENDING: "待确认",
    TicketState.CONFIRMED: "已受理",
    TicketState.ASSIGNED: "已派单",
    TicketState.IN_PROGRESS: "处理中",
    TicketState.RESOLVED: "已办结",
    TicketState.CLOSED: "已关闭",
    TicketState.REJECTED: "不予受理",
    TicketState.DUPLICATE: "已合并",
    TicketState.REFERRED: "已转办",
    TicketState.WITHDRAWN: "已撤回",
}

STATE_TYPES: dict[TicketState, StateType] = {
    TicketState.PENDING: StateType.OPEN,
    TicketState.CONFIRMED: StateType.OPEN,
    TicketState.ASSIGNED: StateType.OPEN,
    TicketState.IN_PROGRESS: StateType.OPEN,
    TicketState.RESOLVED: StateType.CLOSED_FIXED,
    TicketState.CLOSED: StateType.CLOSED_FIXED,
    TicketState.REJECTED: StateType.CLOSED_NOT_FIXED,
    TicketState.DUPLICATE: StateType.CLOSED_NOT_FIXED,
    TicketState.REFERRED: StateType.CLOSED_NOT_FIXED,
    TicketState.WITHDRAWN: StateType.CLOSED_NOT_FIXED,
}

S = TicketState
_SIDE_EXITS = frozenset({S.REJECTED, S.DUPLICATE, S.REFERRED})

# The whole state machine: from-state -> states it may move to. Nothing else is legal.
# Every move here is made by an action of core.ticket_actions or by the system (checked there).
LEGAL_MOVES: dict[TicketState, frozenset[TicketState]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.WITHDRAWN}) | _SIDE_EXITS,
    S.CONFIRMED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED}) | _SIDE_EXITS,
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED}) | _SIDE_EXITS,
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.ASSIGNED, S.REFERRED, S.DUPLICATE}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # reopen -> in_progress
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen
    S.REJECTED: frozenset(),
    S.DUPLICATE: frozenset(),
    S.REFERRED: frozenset(),
    S.WITHDRAWN: frozenset(),
}


class IllegalTransition(ValueError):
    """A move the table does not allow; the message lists the legal ones."""

    def __init__(self, current: TicketState, target: TicketState):
        self.current = current
        self.target = target
        legal = sorted(LEGAL_MOVES[current])
        if legal:
            options = "、".join(f"{s.label}({s.value})" for s in legal)
            hint = f"legal moves from {current.value} are: {options}"
        else:
            hint = f"{current.value} is final; no move is legal"
        super().__init__(f"cannot move a ticket from {current.label}({current.value}) to {target.label}({target.value}); {hint}")


def check_move(current: TicketState, target: TicketState) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is in :data:`LEGAL_MOVES`."""
    if target not in LEGAL_MOVES[current]:
        raise IllegalTransition(current, target)


def is_reopen(current: TicketState, target: TicketState) -> bool:
    return current.type is StateType.CLOSED_FIXED and target.is_open
