"""What can be done to a ticket: one table of actions on top of the state machine.

For each action: the states it applies in, who may do it, what it needs (a note, a target), the
moves of :data:`core.ticket_states.LEGAL_MOVES` it makes, and its buttons on a ticket's card.
:func:`available` answers "what may this person do to this ticket now" for the chat buttons, the
console and the API's refusals; :func:`permitted` is the one permission check the actions use.

The table is held against ``LEGAL_MOVES`` when this module is imported: every move an action
makes is legal, and every legal move is made by an action or declared in :data:`SYSTEM_MOVES`.

To add an action: one :class:`TicketAction` row here, its handler in ``bots/actions.py``
(``Actions.handlers``) and, for chat, its words in ``bots/chat_commands.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session

from core import models as _models  # noqa: F401  (before core.grids: core.models completes a cycle through it)
from core.grids import Role, ancestors
from core.models import Person, Ticket
from core.people import can_manage
from core.taxonomy import Category
from core.ticket_states import LEGAL_MOVES, TicketState

S = TicketState
Move = tuple[TicketState, TicketState]
OPEN = frozenset(st for st in S if st.is_open)


class Who(StrEnum):
    """Who may do an action to a ticket."""

    STAFF = "staff"  # grid workers of the ticket's grid or a level above, and admins
    HANDLER = "handler"  # staff, or the person the ticket is assigned to
    VOLUNTEER = "volunteer"  # staff, or a volunteer of the ticket's grid or a level above
    REPORTER = "reporter"  # the person who filed it
    ANYONE = "anyone"  # anyone in a chat of the grid

    @property
    def spoken(self) -> str:
        """「只有{who}可以操作」 in a refusal."""
        return WHO_SPOKEN[self]

    @property
    def roles(self) -> frozenset[Role]:
        """The roles that can ever be in this group (help pages show a person only those)."""
        return WHO_ROLES[self]


_STAFF_ROLES = frozenset({Role.GRID_WORKER, Role.ADMIN})
WHO_ROLES: dict[Who, frozenset[Role]] = {
    Who.STAFF: _STAFF_ROLES, Who.HANDLER: _STAFF_ROLES | {Role.VOLUNTEER}, Who.VOLUNTEER: _STAFF_ROLES | {Role.VOLUNTEER},
    Who.REPORTER: frozenset(Role), Who.ANYONE: frozenset(Role),
}
WHO_SPOKEN: dict[Who, str] = {
    Who.STAFF: "本网格的网格员", Who.HANDLER: "本网格的网格员或承办人", Who.VOLUNTEER: "本网格的志愿者或网格员",
    Who.REPORTER: "登记人本人", Who.ANYONE: "本网格的居民",
}
WHO_DOC: dict[Who, str] = {
    Who.STAFF: "grid workers of the ticket's grid or a level above, admins",
    Who.HANDLER: "the ticket's assignee, grid workers of its grid or above, admins",
    Who.VOLUNTEER: "volunteers of the ticket's grid or above, grid workers, admins",
    Who.REPORTER: "the person who filed it", Who.ANYONE: "anyone in a chat of its grid",
}


@dataclass(frozen=True)
class TicketAction:
    """One thing that can be done to a ticket.

    ``arguments`` are the keywords it takes besides a note (into, category, urgency, department,
    assignee); ``note`` names the refusal template when a required note is missing (None: optional);
    ``buttons`` maps a state to the label template of its button on the ticket's card; ``desk``:
    offered on the console and the REST API (not: the resident's and volunteer's own actions).
    """

    name: str
    label: str
    states: frozenset[TicketState]
    who: Who
    moves: frozenset[Move] = frozenset()
    note: str | None = None
    arguments: tuple[str, ...] = ()
    buttons: Mapping[TicketState, str] = field(default_factory=dict)
    category: Category | None = None  # only for tickets of this category
    desk: bool = True

    def applies_to(self, ticket: Ticket) -> bool:
        """Whether the ticket's state (and category) admit this action at all, whoever asks."""
        return S(ticket.state) in self.states and self.category in (None, ticket.category)


def _from(states: Iterable[TicketState], target: TicketState) -> frozenset[Move]:
    return frozenset((s, target) for s in states)


_TAKEN = frozenset({S.CONFIRMED, S.ASSIGNED})
_WORKING = frozenset({S.CONFIRMED, S.ASSIGNED, S.IN_PROGRESS})
_A = TicketAction
# Table order is the order of buttons on a card and of actions on the console.
TABLE: tuple[TicketAction, ...] = (
    _A("confirm", "确认", frozenset({S.PENDING}), Who.STAFF, _from({S.PENDING}, S.CONFIRMED),
       buttons={S.PENDING: "button_confirm"}),
    _A("reject", "驳回", frozenset({S.PENDING}) | _TAKEN, Who.STAFF, _from({S.PENDING} | _TAKEN, S.REJECTED),
       note="reject_needs_reason", buttons={S.PENDING: "button_reject"}),
    _A("merge", "合并", OPEN, Who.STAFF, _from(OPEN, S.DUPLICATE), arguments=("into",), buttons={S.PENDING: "button_merge"}),
    _A("assign", "派单", OPEN, Who.STAFF,
       _from({S.PENDING}, S.CONFIRMED) | _from({S.CONFIRMED, S.IN_PROGRESS}, S.ASSIGNED),
       arguments=("department", "assignee"), buttons={S.PENDING: "button_dispatch", S.CONFIRMED: "button_assign"}),
    _A("accept", "接单", _TAKEN, Who.HANDLER, _from(_TAKEN, S.IN_PROGRESS),
       buttons={S.CONFIRMED: "button_accept", S.ASSIGNED: "button_accept"}),
    _A("progress", "进展", OPEN, Who.HANDLER, note="progress_needs_note"),
    _A("resolve", "办结", OPEN, Who.HANDLER, _from({S.PENDING}, S.CONFIRMED) | _from(_WORKING, S.RESOLVED),
       note="resolve_needs_note"),
    _A("reclassify", "改类", OPEN, Who.STAFF, arguments=("category",)),
    _A("urgency", "定级", OPEN, Who.STAFF, arguments=("urgency",)),
    _A("refer", "上报", OPEN, Who.STAFF),  # to the level above (escalation_level); the state stays
    _A("transfer", "转办", OPEN, Who.STAFF, _from(OPEN, S.REFERRED), note="transfer_needs_note"),
    _A("reopen", "重启", frozenset({S.RESOLVED, S.CLOSED}), Who.STAFF, _from({S.RESOLVED, S.CLOSED}, S.IN_PROGRESS),
       note="reopen_needs_reason"),
    _A("claim", "认领", _TAKEN, Who.VOLUNTEER, _from(_TAKEN, S.IN_PROGRESS), category=Category.ELDERLY_CARE, desk=False),
    _A("withdraw", "撤回", frozenset({S.PENDING}), Who.REPORTER, _from({S.PENDING}, S.WITHDRAWN), desk=False),
    _A("info", "补充", frozenset(S), Who.ANYONE, note="info_needs_text", desk=False),
)
ACTIONS: dict[str, TicketAction] = {a.name: a for a in TABLE}
DESK_ACTIONS: tuple[str, ...] = tuple(a.name for a in TABLE if a.desk)  # what the console and the API offer

# Legal moves no person's action makes: the system (or the resident's survey answer) makes them.
SYSTEM_MOVES: dict[Move, str] = {
    (S.RESOLVED, S.CLOSED): "the survey: an answer of 满意/基本满意, or no answer in time (the sweep)",
}


def check_table(table: Iterable[TicketAction] = TABLE, system: Mapping[Move, str] = SYSTEM_MOVES) -> None:
    """Raise ValueError unless the table and LEGAL_MOVES agree (see the module docstring)."""
    legal = {(a, b) for a, targets in LEGAL_MOVES.items() for b in targets}
    made: set[Move] = set(system)
    for action in table:
        reached = {b for _, b in action.moves}
        illegal = sorted(m for m in action.moves if m not in legal)
        if illegal:
            raise ValueError(f"action {action.name} makes moves LEGAL_MOVES does not allow: {illegal}")
        stray = sorted(a for a, _ in action.moves if a not in action.states and a not in reached)
        if stray:
            raise ValueError(f"action {action.name} moves from states it does not apply in: {stray}")
        if not set(action.buttons) <= action.states:
            raise ValueError(f"action {action.name} has buttons in states it does not apply in")
        made |= action.moves
    orphans = sorted(legal - made)
    if orphans:
        raise ValueError(f"legal moves no action makes (give them an action or add them to SYSTEM_MOVES): {orphans}")


check_table()


def permitted(session: Session, action: TicketAction, ticket: Ticket, person: Person) -> bool:
    """Whether ``person`` is among those who may do ``action`` to ``ticket`` (whatever its state)."""
    if action.who is Who.ANYONE:
        return True
    if action.who is Who.REPORTER:
        return person.key == ticket.created_by
    if can_manage(session, person, ticket.grid_id):
        return True
    if action.who is Who.HANDLER:
        return ticket.assignee is not None and ticket.assignee == person.key
    if action.who is Who.VOLUNTEER:
        return person.role == Role.VOLUNTEER and any(g.id == person.grid_id for g in ancestors(session, ticket.grid_id))
    return False


def available(session: Session, ticket: Ticket, person: Person, *, desk: bool = False) -> list[TicketAction]:
    """The actions ``person`` may do to ``ticket`` in its current state, in table order
    (``desk``: only those the console and the API offer)."""
    return [a for a in TABLE if (a.desk or not desk) and a.applies_to(ticket) and permitted(session, a, ticket, person)]


def card_buttons(ticket: Ticket) -> list[tuple[TicketAction, str]]:
    """The buttons on a ticket's card for its state, with their label templates. A card is seen by the
    whole chat, so it carries the staff's actions; a press is checked against the presser."""
    state = S(ticket.state)
    return [(a, a.buttons[state]) for a in TABLE if state in a.buttons and a.applies_to(ticket)]
