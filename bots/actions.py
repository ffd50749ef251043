"""Every action on a ticket, in one platform-neutral place.

Chat commands, buttons, the scheduler and the web console all call :meth:`Actions.perform`
(or the survey/escalation helpers below). An action checks who may do it and whether the
state machine (core.ticket_states.LEGAL_MOVES) allows it *before* changing anything, makes
the change with its events, and returns the announcements to send, which the caller puts
in the outbox in the same transaction::

    replies = runtime.bot.actions.perform(session, 12, "resolve", person, note="已修好")
    bots.replies.enqueue(session, replies, prefix=f"console:{request_id}")

Not-allowed or illegal requests raise an :class:`ActionError` subclass and change nothing.
Who may do what in which state, and what each action needs, is the table in
core/ticket_actions.py; this module checks requests against it and does the work
(:attr:`Actions.handlers`: one method per action of the table).

Every action first locks the ticket (:func:`core.tickets.lock`) and then checks and changes it,
so concurrent actions on one ticket take turns. One that asked to move the ticket while
someone else was moving it loses: :class:`Conflict` (「该诉求刚被他人处理」), never a second move
out of the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlmodel import Session, select

from bots.cards import card_edit
from bots.commands import action_data
from bots.replies import BotReply, Destination, reporter_destinations, staff_destinations, tell
from bots.templates import Templates, call_text
from core import dialogue, tickets
from core.chinese import to_simplified
from core.grids import LEVEL_ORDER, Level, ancestors
from core.masking import mask
from core.message import Button
from core.models import Grid, Person, Ticket, TicketEvent, TicketReporter, utcnow
from core.people import can_manage, display_name, titled_name, workers_for
from core.routing import Route, RoutingTable
from core.sla import SlaPolicies
from core.taxonomy import Category, Urgency, category_from_label_or_code
from core.ticket_actions import ACTIONS as ACTION_TABLE
from core.ticket_actions import TABLE, TicketAction, Who, available, card_buttons, permitted
from core.ticket_states import IllegalTransition, TicketState, check_move
from core.timefmt import spoken_deadline

S = TicketState

# The actions, who may do them and in which states: core.ticket_actions.TABLE. Names are stable
# (the console, the API and button data use them); labels are the words people see.
ACTION_LABELS: dict[str, str] = {a.name: a.label for a in TABLE}
ACTIONS = frozenset(ACTION_LABELS)
SURVEY_SCORES = {1: "满意", 2: "基本满意", 3: "不满意"}
SURVEY_BUTTONS = {1: "rate_good", 2: "rate_fair", 3: "rate_bad"}


class ActionError(Exception):
    """An action that was refused; nothing changed.

    ``str(error)`` is the Simplified-Chinese explanation; ``template`` and ``values`` let a
    chat render it in its own script.
    """

    def __init__(self, message: str, template: str, values: dict):
        super().__init__(message)
        self.template = template
        self.values = values


class UnknownTicket(ActionError):
    """No ticket has that number."""


class UnknownAction(ActionError):
    """The action name is not one of :data:`ACTIONS`."""


class NotAllowed(ActionError):
    """The person may not do this to this ticket."""


class IllegalMove(ActionError):
    """The ticket's state does not allow it (see core.ticket_states.LEGAL_MOVES)."""


class Conflict(IllegalMove):
    """Someone else moved the ticket after this request was made: the request lost the race.

    Its values carry the ticket's current state; the REST API answers 409 with it.
    """


class BadArguments(ActionError):
    """Something the action needs is missing or wrong (a reason, a category, a ticket to merge into)."""


class Notice(NamedTuple):
    """Staff notices for one level: the replies queued, and whether a room that can receive them was found."""

    replies: list[BotReply]
    reached: bool


@dataclass
class Notices:
    """Staff notices about one ticket, by level: what was queued, and which levels no chat that
    can receive it was found for (``whom`` is 网格员 for the ticket's own workers, 上级 above)."""

    replies: list[BotReply] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)
    missed: list[tuple[str, Grid]] = field(default_factory=list)


@dataclass
class _Ctx:
    session: Session
    ticket: Ticket
    actor: Person
    note: str
    origin: Destination | None
    now: datetime
    action: str
    seen: TicketState | None = None  # the state the request was made against (read before the lock)
    since: datetime | None = None  # when the request was received (a chat message), if known
    replies: list[BotReply] = field(default_factory=list)
    told: set = field(default_factory=set)


class Actions:
    """The ticket actions, bound to the reply templates, SLA policies and routing table."""

    def __init__(self, templates: Templates, sla: SlaPolicies, routing: RoutingTable, *,
                 clock: Callable[[], datetime] = utcnow, can_receive: Callable[[str], bool] | None = None,
                 survey_ttl: timedelta = timedelta(hours=72)):
        self.templates = templates
        self.sla = sla
        self.routing = routing
        self.clock = clock
        # Whether a configured channel can post a notice into a chat (bots.channels.notice_receiver);
        # None: every chat can. Staff notices go only where it says yes.
        self.can_receive = can_receive
        self.survey_ttl = survey_ttl  # how long a reporter's words are taken as the survey answer
        unhandled = set(ACTION_TABLE) ^ set(self.handlers)
        if unhandled:
            raise RuntimeError(f"core.ticket_actions.TABLE and Actions.handlers disagree on: {sorted(unhandled)}")

    # -- the entry point ------------------------------------------------------------------

    def perform(
        self, session: Session, ticket_number: int, action: str, actor_person: Person, note: str = "", *,
        origin: Destination | None = None, now: datetime | None = None,
        into: int | None = None, category: Category | str | None = None, urgency: Urgency | str | None = None,
        department: str | None = None, assignee: str | None = None,
        expected: TicketState | None = None, since: datetime | None = None,
    ) -> list[BotReply]:
        """Do ``action`` on ticket ``ticket_number`` as ``actor_person``; return the announcements.

        ``origin`` is where the request came from (a chat), which gets the first reply;
        the console passes None. Arguments by action: merge ``into``; reclassify
        ``category`` (code or 中文名); urgency ``urgency`` (code or 紧急/加急/一般); assign
        ``department`` and/or ``assignee`` (account key or name; both empty: the routing
        table's default); the actions whose table row names a ``note`` template need a note.
        A move is refused as a :class:`Conflict` when someone else moved the ticket first: when
        its state is no longer ``expected`` (the state the actor saw, e.g. on the console page),
        or no longer the one read when this call began, or when another actor moved it after
        ``since`` (when the request was received, e.g. a chat message; by this service's clock).
        Raises :class:`ActionError` (UnknownTicket, UnknownAction, NotAllowed, IllegalMove,
        Conflict, BadArguments) and changes nothing in that case.
        """
        spec = ACTION_TABLE.get(action)
        if spec is None:
            raise self._error(UnknownAction, "unknown_action", action=action, actions="、".join(ACTION_LABELS.values()))
        for number in (ticket_number, into):
            if number is not None and not 1 <= number <= tickets.MAX_NUMBER:
                raise self._error(UnknownTicket, "ticket_not_found", number=number)
        seen = tickets.get(session, ticket_number)
        seen_state = expected or (S(seen.state) if seen is not None else None)
        ticket = tickets.lock(session, ticket_number, *([into] if action == "merge" and into is not None else []))
        if ticket is None:
            raise self._error(UnknownTicket, "ticket_not_found", number=ticket_number)
        self._check_allowed(session, ticket, spec, actor_person)
        ctx = _Ctx(session, ticket, actor_person, (note or "").strip(), origin, now or self.clock(), action,
                   seen=seen_state, since=since)
        self._check_state(ctx)
        given = {k: v for k, v in {"into": into, "category": category, "urgency": urgency, "department": department,
                                   "assignee": assignee}.items() if v is not None}
        extra = sorted(set(given) - set(spec.arguments))
        if extra:
            raise self._error(BadArguments, "action_extra_arguments", action=spec.label, names="、".join(extra))
        if spec.note is not None and not ctx.note:
            raise self._error(BadArguments, spec.note, number=ticket.id)
        if origin is not None:
            ctx.told.add(origin.identity)
        self.handlers[action](ctx, **given)
        return ctx.replies

    @property
    def handlers(self) -> dict[str, Callable[..., None]]:
        """Each action of core.ticket_actions.TABLE and the method that does it (the table's arguments as keywords)."""
        return {
            "confirm": self._do_confirm, "reject": self._do_reject, "merge": self._do_merge, "assign": self._do_assign,
            "accept": self._do_accept, "progress": self._do_progress, "resolve": self._do_resolve,
            "reclassify": self._do_reclassify, "urgency": self._do_urgency, "refer": self._do_refer,
            "transfer": self._do_transfer, "reopen": self._do_reopen, "claim": self._do_claim,
            "withdraw": self._do_withdraw, "info": self._do_info,
        }

    def available(self, session: Session, ticket: Ticket, person: Person, *, desk: bool = False) -> list[str]:
        """The names of the actions ``person`` may do to ``ticket`` now (core.ticket_actions.available)."""
        return [a.name for a in available(session, ticket, person, desk=desk)]

    # -- permissions and errors ------------------------------------------------------------

    def _error(self, cls: type[ActionError], template: str, **values) -> ActionError:
        return cls(self.templates.render(template, "simplified", **values), template, values)

    def may_manage(self, session: Session, person: Person, ticket: Ticket) -> bool:
        return can_manage(session, person, ticket.grid_id)

    def _check_allowed(self, session: Session, ticket: Ticket, action: TicketAction, actor: Person) -> None:
        """Refuse unless the action table lets ``actor`` do ``action`` to ``ticket``, saying who may."""
        if not permitted(session, action, ticket, actor):
            if action.who is Who.REPORTER:
                raise self._error(NotAllowed, "withdraw_not_yours", number=ticket.id)
            raise self._not_allowed(session, ticket, actor, action.label, action.who.spoken)
        if action.category not in (None, ticket.category):
            raise self._error(BadArguments, "claim_only_elderly", number=ticket.id, category=ticket.category.spoken)

    def _not_allowed(self, session: Session, ticket: Ticket, actor: Person, command: str, who: str) -> NotAllowed:
        """Who may do it, and whom to ask instead: the grid worker of the ticket's grid."""
        workers = workers_for(session, ticket.grid_id)
        contact = titled_name(workers[0]) if workers else "网格员"
        return self._error(NotAllowed, "not_allowed", name=display_name(actor), command=command, who=who, contact=contact)

    def _check_state(self, ctx: _Ctx) -> None:
        """Refuse an action the ticket's state does not allow (its states in the action table), saying why and what to do;
        when someone else moved it since the actor looked, say that instead (the race's loser)."""
        ticket, action, actor = ctx.ticket, ctx.action, ctx.actor
        state = S(ticket.state)
        if action == "claim" and state is S.IN_PROGRESS and ticket.assignee and ticket.assignee != actor.key:
            self._check_not_overtaken(ctx)
            raise self._error(BadArguments, "already_claimed", number=ticket.id, assignee=self.who(ctx.session, ticket.assignee))
        if state not in ACTION_TABLE[action].states:
            self._check_not_overtaken(ctx)
            raise self._wrong_state(ticket, action)

    def _wrong_state(self, ticket: Ticket, action: str) -> IllegalMove:
        """The refusal of ``action`` on the ticket's state: the state, and what to do instead."""
        state, number = S(ticket.state), ticket.id
        template, hint, hint_values = "already_done", "", {"number": number}
        if state in (S.RESOLVED, S.CLOSED):
            hint = "hint_reopen"
        elif state is S.DUPLICATE:
            hint, hint_values = "hint_merged", {"master": ticket.master_id or number}
        elif state in (S.REJECTED, S.WITHDRAWN, S.REFERRED):
            hint = "hint_refile"
        elif state is S.PENDING:
            template, hint = "illegal_move", "hint_confirm_first"
        elif action in ("reopen", "reject", "withdraw"):
            template, hint = "illegal_move", f"hint_{action}_open"
        text = self.templates.render(hint, "simplified", **hint_values) if hint else ""
        return self._error(IllegalMove, template, number=number, state=state.label, command=ACTION_LABELS[action], hint=text)

    def _moved_by_others(self, ctx: _Ctx) -> bool:
        """Did someone else move the ticket after this request was made?"""
        if ctx.seen is not None and ctx.seen is not S(ctx.ticket.state):
            return True
        if ctx.since is None:
            return False
        moved = select(TicketEvent.id).where(
            TicketEvent.ticket_id == ctx.ticket.id, TicketEvent.from_state.is_not(None),
            TicketEvent.created_at > ctx.since, TicketEvent.actor != ctx.actor.key)
        return ctx.session.exec(moved.limit(1)).first() is not None

    def _check_not_overtaken(self, ctx: _Ctx) -> None:
        """Refuse a move asked for against a state that someone else has left since (the race's loser)."""
        if self._moved_by_others(ctx):
            raise self._error(Conflict, "ticket_taken", number=ctx.ticket.id, state=S(ctx.ticket.state).label)

    def _moves(self, ctx: _Ctx, *targets: S, data: dict | None = None) -> None:
        """Check the whole chain of moves against the state table first, then make them."""
        self._check_not_overtaken(ctx)
        current = S(ctx.ticket.state)
        try:
            for target in targets:
                check_move(current, target)
                current = target
        except IllegalTransition:
            raise self._wrong_state(ctx.ticket, ctx.action) from None
        for target in targets:
            tickets.move(ctx.session, ctx.ticket, target, ctx.actor.key, ctx.note, at=ctx.now, data=data)

    # -- rendering and telling ---------------------------------------------------------------

    def values(self, session: Session, ticket: Ticket, *, now: datetime | None = None, **extra) -> dict:
        """The placeholders every ticket template may use (times said relative to ``now``)."""
        text = mask(ticket.text)  # before cutting, so a cut never leaves half a number unmasked
        summary = text if len(text) <= 40 else text[:40] + "…"
        grid = session.get(Grid, ticket.grid_id) if ticket.grid_id else None
        out = {
            "number": ticket.id, "category": ticket.category.spoken, "urgency": ticket.urgency.label,
            "state": S(ticket.state).label, "summary": summary, "grid": grid.name if grid else "—",
            "due": spoken_deadline(ticket.resolve_due_at, now or self.clock()) if ticket.resolve_due_at else "尽快",
            "department": ticket.department or "待定", "assignee": self.who(session, ticket.assignee),
            "handler": self.handler_text(session, ticket),
        }
        out.update(extra)
        return out

    def who(self, session: Session, key_or_name: str | None) -> str:
        if not key_or_name:
            return "—"
        person = session.exec(select(Person).where(Person.key == key_or_name)).first()
        return titled_name(person) if person else key_or_name

    def handler_text(self, session: Session, ticket: Ticket) -> str:
        """Who handles the ticket: 幸福物业服务中心·网格员李强, else the grid's worker (网格员王芳)."""
        parts = [p for p in (ticket.department, self.who(session, ticket.assignee) if ticket.assignee else None) if p]
        if parts:
            return "·".join(parts)
        workers = workers_for(session, ticket.grid_id)
        return titled_name(workers[0]) if workers else "网格员"

    def render(self, template: str, dest: Destination, **values) -> str:
        return self.templates.render(template, dest.script, **values)

    def announce(self, ctx: _Ctx, template: str, key: str, *, to_origin: bool = True,
                 origin_buttons: list[list[Button]] | None = None, **extra) -> None:
        """Tell the origin chat and every reporter's chat, once each."""
        values = self.values(ctx.session, ctx.ticket, now=ctx.now, actor=titled_name(ctx.actor), note=ctx.note or "未写明", **extra)
        render = lambda d: self.render(template, d, **values)  # noqa: E731
        if to_origin and ctx.origin is not None:
            ctx.replies.append(ctx.origin.reply(render(ctx.origin), key, ticket_id=ctx.ticket.id, buttons=origin_buttons))
        # The ticket's card (its first message, with buttons) is edited to show the new state.
        # An open ticket's card names who handles it (never the resident who last spoke); a finished one just its state.
        open_now = S(ctx.ticket.state).is_open
        card = card_edit(ctx.session, ctx.ticket, self.templates.render(
            "card_state" if open_now else "card_state_closed", ctx.origin.script if ctx.origin else "simplified",
            state=values["state"], handler=values["handler"]))
        if card is not None:
            ctx.replies.append(BotReply(card, f"{key}:card", ctx.ticket.id))
        ctx.replies += tell(reporter_destinations(ctx.session, ctx.ticket), render, key, ticket_id=ctx.ticket.id, skip=ctx.told)

    def notify_staff(self, session: Session, ticket: Ticket, grid_id: str | None, template: str, key: str, *,
                     skip: set, now: datetime | None = None, **values) -> Notice:
        """Tell the workers of ``grid_id`` in their staff rooms (see staff_destinations); ``reached``
        is False when no staff room that can receive it was found."""
        destinations = staff_destinations(session, grid_id, ticket, self.can_receive)
        all_values = self.values(session, ticket, now=now, **values)
        replies = tell(destinations, lambda d: self.render(template, d, **all_values), key, ticket_id=ticket.id, skip=skip)
        return Notice(replies, bool(destinations))

    def notify_levels(self, session: Session, ticket: Ticket, template: str, key: str, *, levels: int, skip: set,
                      now: datetime | None = None, **values) -> Notices:
        """Tell the ticket's grid workers and, for ``levels=2``, the level above them."""
        chain = ancestors(session, ticket.grid_id)
        workers = workers_for(session, ticket.grid_id)
        start = next((i for i, g in enumerate(chain) if workers and g.id == workers[0].grid_id), 0)
        out = Notices()
        for i, grid in enumerate(chain[start : start + levels]):
            whom = "网格员" if i == 0 else "上级"
            notice = self.notify_staff(session, ticket, grid.id, template, f"{key}:{grid.id}", skip=skip, now=now, **values)
            out.replies += notice.replies
            if notice.reached:
                out.reached.append(whom)
            else:
                out.missed.append((whom, grid))
        return out

    def told(self, reached: Iterable[str], script: str, grid_worker: str) -> str:
        """「，已通知网格员王芳和上级」 for the levels reached (网格员, 上级), nothing when none was."""
        reached = set(reached)
        template = {(True, True): "told_worker_and_above", (True, False): "told_worker",
                    (False, True): "told_above"}.get(("网格员" in reached, "上级" in reached))
        return self.templates.render(template, script, grid_worker=grid_worker) if template else ""

    def report_missed(self, session: Session, ticket: Ticket, missed: list[tuple[str, Grid]], key: str, *,
                      actor_chat: Destination | None = None, fallback: Destination | None = None,
                      now: datetime | None = None) -> list[BotReply]:
        """Say which levels could not be told (「上级（和平街道）没有可接收的群，请电话联系」): to the
        worker who acted (``actor_chat``), else in the grid's staff rooms, else in ``fallback``;
        always on the ticket's trail."""
        if not missed:
            return []
        whom = "、".join(f"{w}（{grid.name}）" for w, grid in missed)
        tickets.record(session, ticket, tickets.SYSTEM, "note", f"通知未发出：{whom}没有可接收的群", at=now or self.clock(),
                       data={"undeliverable": True, "grids": [grid.id for _, grid in missed]})
        if actor_chat is not None:
            destinations = [actor_chat]
        else:
            destinations = staff_destinations(session, ticket.grid_id, ticket, self.can_receive) or (
                [fallback] if fallback is not None else [])
        return tell(destinations, lambda d: self.render("staff_unreachable", d, number=ticket.id, whom=whom),
                    f"{key}:missed", ticket_id=ticket.id)

    def worker_buttons(self, ticket: Ticket, script: str = "simplified") -> list[list[Button]]:
        """The buttons a grid worker needs next for this ticket's state (core.ticket_actions.card_buttons)."""
        buttons = card_buttons(ticket)
        if not buttons:
            return []
        return [[Button(label=self.templates.render(label, script), data=action_data(a.name, ticket.id)) for a, label in buttons]]

    # -- routing and deadlines --------------------------------------------------------------

    def route(self, session: Session, ticket: Ticket) -> Route:
        return self.routing.route(ticket.category, [g.id for g in ancestors(session, ticket.grid_id)])

    def _reset_deadlines(self, ticket: Ticket, *, start: datetime) -> None:
        """Deadlines for the ticket's category and urgency, counted from ``start``."""
        ticket.confirm_due_at, ticket.resolve_due_at = self.sla.due_dates(ticket.category, ticket.urgency, start)

    def round_start(self, ticket: Ticket) -> datetime:
        """When the current deadline round started: creation, or the last reopen."""
        if ticket.resolve_due_at is None:
            return ticket.created_at
        return self.sla.round_start(ticket.category, ticket.urgency, ticket.resolve_due_at)

    # -- the actions -----------------------------------------------------------------------

    def _do_confirm(self, ctx: _Ctx) -> None:
        route = self.route(ctx.session, ctx.ticket)
        self._moves(ctx, S.CONFIRMED, data={"department": route.department})
        ctx.ticket.department = ctx.ticket.department or route.department
        buttons = self.worker_buttons(ctx.ticket, ctx.origin.script if ctx.origin else "simplified")
        self.announce(ctx, "ticket_confirmed", f"confirm:{ctx.ticket.id}", origin_buttons=buttons)

    def _do_reject(self, ctx: _Ctx) -> None:
        self._moves(ctx, S.REJECTED)
        self.announce(ctx, "ticket_rejected", f"reject:{ctx.ticket.id}")

    def _do_merge(self, ctx: _Ctx, into: int | None = None) -> None:
        ticket = ctx.ticket
        if into is None:
            raise self._error(BadArguments, "merge_needs_target", number=ticket.id)
        master = tickets.get(ctx.session, into)
        if master is None:
            raise self._error(UnknownTicket, "ticket_not_found", number=into)
        if master.id == ticket.id or not S(master.state).is_open:
            raise self._error(BadArguments, "merge_bad_target", number=ticket.id, master=into, state=S(master.state).label)
        if not self.may_manage(ctx.session, ctx.actor, master):
            raise self._not_allowed(ctx.session, master, ctx.actor, "合并", "本网格的网格员")
        self._merge(ctx, master)

    def merge_as_reporter(self, session: Session, ticket: Ticket, master: Ticket, actor: Person, *,
                          now: datetime, origin: Destination | None = None) -> list[BotReply]:
        """The reporter of ``ticket`` says it is the same as open ``master`` (「和 #N 是同一处吗？」 是):
        merged like 合并, without a grid worker, since it is their own report."""
        if actor.key != ticket.created_by:
            raise self._error(NotAllowed, "withdraw_not_yours", number=ticket.id)
        if master.id == ticket.id or not S(master.state).is_open:
            raise self._error(BadArguments, "merge_bad_target", number=ticket.id, master=master.id, state=S(master.state).label)
        ctx = _Ctx(session, ticket, actor, "居民确认是同一处", None, now, "merge")
        if origin is not None:
            ctx.told.add(origin.identity)
        self._merge(ctx, master)
        return ctx.replies

    def _merge(self, ctx: _Ctx, master: Ticket) -> None:
        ticket = ctx.ticket
        self._moves(ctx, S.DUPLICATE, data={"master": master.id})
        ticket.master_id = master.id
        ctx.session.add(ticket)
        for r in tickets.reporters(ctx.session, ticket.id):
            tickets.add_reporter(ctx.session, master, r.person_key, r.chat_key, message_id=r.message_id,
                                 thread_id=r.thread_id, at=ctx.now)
        tickets.record(ctx.session, master, ctx.actor.key, "merged", f"#{ticket.id}", at=ctx.now, data={"from": ticket.id})
        self.announce(ctx, "ticket_merged", f"merge:{ticket.id}", master=master.id)

    def _do_reclassify(self, ctx: _Ctx, category: Category | str | None = None) -> None:
        try:
            new = category if isinstance(category, Category) else category_from_label_or_code(category or "")
        except ValueError as exc:
            raise BadArguments(str(exc), "bad_category", {"detail": str(exc)}) from None
        if not new.is_request:
            raise self._error(BadArguments, "reclassify_chatter", number=ctx.ticket.id)
        ticket = ctx.ticket
        old, old_route = ticket.category, self.route(ctx.session, ticket)
        start = self.round_start(ticket)
        ticket.category = new
        self._reset_deadlines(ticket, start=start)
        if ticket.department in (None, old_route.department):
            ticket.department = self.route(ctx.session, ticket).department if S(ticket.state) is not S.PENDING else None
        ticket.updated_at = ctx.now
        ctx.session.add(ticket)
        tickets.record(ctx.session, ticket, ctx.actor.key, "reclassify", ctx.note, at=ctx.now,
                       data={"from": old.value, "to": new.value})
        self.announce(ctx, "ticket_reclassified", f"reclassify:{ticket.id}")

    def _do_urgency(self, ctx: _Ctx, urgency: Urgency | str | None = None) -> None:
        new = parse_urgency(urgency)
        if new is None:
            raise self._error(BadArguments, "bad_urgency", number=ctx.ticket.id)
        ticket = ctx.ticket
        old = ticket.urgency
        start = self.round_start(ticket)
        ticket.urgency = new
        self._reset_deadlines(ticket, start=start)
        ticket.updated_at = ctx.now
        ctx.session.add(ticket)
        tickets.record(ctx.session, ticket, ctx.actor.key, "urgency", ctx.note, at=ctx.now,
                       data={"from": old.value, "to": new.value})
        self.announce(ctx, "ticket_urgency", f"urgency:{ticket.id}")
        if new is Urgency.EMERGENCY and old is not Urgency.EMERGENCY:
            # raised to an emergency: the grid's workers and the level above hear it at once
            call = self.routing.emergency_call(ticket.text, ticket.category).call
            notices = self.notify_levels(ctx.session, ticket, "staff_emergency", f"urgency-staff:{ticket.id}", levels=2,
                                         skip=ctx.told, now=ctx.now, call=call_text(call))
            ctx.replies += notices.replies
            ctx.replies += self.report_missed(ctx.session, ticket, notices.missed, f"urgency-staff:{ticket.id}",
                                              actor_chat=ctx.origin, now=ctx.now)

    def _do_assign(self, ctx: _Ctx, department: str | None = None, assignee: str | None = None) -> None:
        ticket = ctx.ticket
        if department is None and assignee is None:
            route = self.route(ctx.session, ticket)
            department, assignee = route.department, route.assignee
        elif assignee is not None:
            person = find_person(ctx.session, assignee)
            assignee = person.key if person else assignee
        state = S(ticket.state)
        data = {"department": department, "assignee": assignee}
        if state is S.ASSIGNED:  # a new handler; the state stays
            tickets.record(ctx.session, ticket, ctx.actor.key, "assign", ctx.note, at=ctx.now, data=data)
        elif state is S.PENDING:
            self._moves(ctx, S.CONFIRMED, S.ASSIGNED, data=data)
        else:
            self._moves(ctx, S.ASSIGNED, data=data)
        ticket.department = department or ticket.department
        ticket.assignee = assignee
        ctx.session.add(ticket)
        buttons = self.worker_buttons(ticket, ctx.origin.script if ctx.origin else "simplified")
        self.announce(ctx, "ticket_assigned", f"assign:{ticket.id}", origin_buttons=buttons)

    def _do_accept(self, ctx: _Ctx) -> None:
        self._moves(ctx, S.IN_PROGRESS)
        if ctx.ticket.assignee is None:
            ctx.ticket.assignee = ctx.actor.key
        self.announce(ctx, "ticket_accepted", f"accept:{ctx.ticket.id}")

    def _do_progress(self, ctx: _Ctx) -> None:
        tickets.record(ctx.session, ctx.ticket, ctx.actor.key, "note", ctx.note, at=ctx.now)
        self.announce(ctx, "ticket_progress", f"progress:{ctx.ticket.id}:{ctx.now.timestamp():.0f}")

    def _do_resolve(self, ctx: _Ctx) -> None:
        chain = (S.CONFIRMED, S.RESOLVED) if S(ctx.ticket.state) is S.PENDING else (S.RESOLVED,)
        self._moves(ctx, *chain)
        self.announce(ctx, "ticket_resolved", f"resolve:{ctx.ticket.id}")
        self._ask_survey(ctx)

    def _ask_survey(self, ctx: _Ctx) -> None:
        ticket = ctx.ticket
        round_no = sum(1 for e in tickets.events(ctx.session, ticket.id) if e.to_state == S.RESOLVED.value)

        def buttons(dest: Destination) -> list[list[Button]]:
            return [[Button(label=self.templates.render(f"button_{SURVEY_BUTTONS[s]}", dest.script),
                            data=action_data(SURVEY_BUTTONS[s], ticket.id)) for s in SURVEY_SCORES]]

        values = self.values(ctx.session, ticket)
        ctx.replies += tell(reporter_destinations(ctx.session, ticket), lambda d: self.render("survey", d, **values),
                            f"survey:{ticket.id}:{round_no}", ticket_id=ticket.id, skip=set(), buttons_for=buttons)
        # Each reporter's next words in their chat are offered to the survey first (bots/followup.py).
        for reporter in tickets.reporters(ctx.session, ticket.id):
            dialogue.ask(ctx.session, reporter.person_key, reporter.chat_key, dialogue.QuestionKind.SURVEY,
                         now=ctx.now, ttl=self.survey_ttl, ticket_id=ticket.id)

    def _do_reopen(self, ctx: _Ctx) -> None:
        self._reopen(ctx, "ticket_reopened")

    def _reopen(self, ctx: _Ctx, template: str) -> None:
        self._moves(ctx, S.IN_PROGRESS)
        ticket = ctx.ticket
        self._reset_deadlines(ticket, start=ctx.now)
        ticket.escalation_level = None
        ctx.session.add(ticket)
        # 重办 goes to the workers' staff rooms, never to the residents' group; the residents hear
        # that the worker was told only when the notice was queued to a room that can receive it.
        notice = self.notify_staff(ctx.session, ticket, ticket.grid_id, "staff_reopened",
                                   f"reopen-staff:{ticket.id}:{ctx.now.timestamp():.0f}", skip=set(), now=ctx.now,
                                   actor=titled_name(ctx.actor), note=ctx.note or "未写明")
        workers = workers_for(ctx.session, ticket.grid_id)
        told = self.told(["网格员"] if notice.reached else [], "simplified", titled_name(workers[0]) if workers else "网格员")
        self.announce(ctx, template, f"reopen:{ticket.id}:{ctx.now.timestamp():.0f}", told=told)
        ctx.replies += notice.replies

    def _do_refer(self, ctx: _Ctx) -> None:
        target = self.next_level(ctx.session, ctx.ticket)
        if target is None:
            raise self._error(BadArguments, "refer_top", number=ctx.ticket.id)
        ctx.replies += self.escalate(ctx.session, ctx.ticket, target, ctx.actor.key, ctx.note, now=ctx.now,
                                     origin=ctx.origin, told=ctx.told)

    def _do_transfer(self, ctx: _Ctx) -> None:
        """转办: the request is outside the community's remit; the note says to whom it went (12345热线、派出所 …)."""
        self._moves(ctx, S.REFERRED)
        self.announce(ctx, "ticket_transferred", f"transfer:{ctx.ticket.id}")

    def _do_claim(self, ctx: _Ctx) -> None:
        ticket = ctx.ticket
        self._moves(ctx, S.IN_PROGRESS, data={"assignee": ctx.actor.key})
        ticket.assignee = ctx.actor.key
        ctx.session.add(ticket)
        self.announce(ctx, "ticket_claimed", f"claim:{ticket.id}")

    def _do_withdraw(self, ctx: _Ctx) -> None:
        others = [r for r in tickets.reporters(ctx.session, ctx.ticket.id) if r.person_key != ctx.actor.key]
        if others:
            raise self._error(BadArguments, "withdraw_shared", number=ctx.ticket.id, count=len(others))
        self._moves(ctx, S.WITHDRAWN)
        self.announce(ctx, "ticket_withdrawn", f"withdraw:{ctx.ticket.id}")

    def _do_info(self, ctx: _Ctx) -> None:
        tickets.record(ctx.session, ctx.ticket, ctx.actor.key, "info", ctx.note, at=ctx.now)
        if ctx.origin is not None:
            text = self.render("info_added", ctx.origin, **self.values(ctx.session, ctx.ticket))
            ctx.replies.append(ctx.origin.reply(text, f"info:{ctx.ticket.id}", ticket_id=ctx.ticket.id))

    # -- escalation (上报 by hand, 督办 by the sweep) ----------------------------------------

    def ladder(self, session: Session, ticket: Ticket) -> list[Grid]:
        """The levels above the ticket's grid, nearest first (community → street → district)."""
        return ancestors(session, ticket.grid_id)[1:]

    def next_level(self, session: Session, ticket: Ticket) -> Grid | None:
        """The level a ticket escalates to next, or None at the top."""
        current = ticket.escalation_level
        for grid in self.ladder(session, ticket):
            if current is None or LEVEL_ORDER.index(Level(grid.level)) < LEVEL_ORDER.index(Level(current)):
                return grid
        return None

    def escalate(self, session: Session, ticket: Ticket, target: Grid, actor_key: str, note: str = "", *,
                 now: datetime, origin: Destination | None = None, told: set | None = None,
                 overdue: bool = False) -> list[BotReply]:
        """Mark the ticket escalated to ``target``'s level, tell that level's staff rooms and the reporters."""
        ticket.escalation_level = target.level
        ticket.updated_at = now
        session.add(ticket)
        tickets.record(session, ticket, actor_key, "escalate", note, at=now,
                       data={"level": target.level, "grid": target.id, "overdue": overdue})
        actor = session.exec(select(Person).where(Person.key == actor_key)).first()
        actor_name = titled_name(actor) if actor else "系统"
        key = f"escalate:{ticket.id}:{target.level}"
        values = self.values(session, ticket, now=now, level=target.name, actor=actor_name, note=note or "未写明")
        told = told if told is not None else set()
        staff = staff_destinations(session, target.id, ticket, self.can_receive)
        if not staff:
            # Recorded (the console shows it), but no room of that level can receive it: nobody is
            # told it was sent; the one who asked for it, or the grid's workers, hear what failed.
            return self.report_missed(session, ticket, [("上级", target)], key, actor_chat=origin, now=now)
        replies: list[BotReply] = []
        if origin is not None:
            told.add(origin.identity)
            replies.append(origin.reply(self.render("ticket_referred", origin, **values), key, ticket_id=ticket.id))
        staff_template = "staff_overdue" if overdue else "staff_referred"
        replies += tell(staff, lambda d: self.render(staff_template, d, **values), f"{key}:staff", ticket_id=ticket.id, skip=told)
        # 督办 by the sweep is a staff matter: the residents hear only that it was pressed on.
        resident_template = "ticket_urged" if overdue else "ticket_referred"
        replies += tell(reporter_destinations(session, ticket), lambda d: self.render(resident_template, d, **values),
                        key, ticket_id=ticket.id, skip=told)
        return replies

    # -- the resident's side: survey answers ---------------------------------------------------

    def answer_survey(self, session: Session, ticket: Ticket, actor: Person, score: int, *,
                      origin: Destination | None = None, now: datetime | None = None,
                      since: datetime | None = None) -> list[BotReply]:
        """Record a satisfaction answer: 1 or 2 closes the ticket, 3 reopens it and tells the grid worker.

        Locks the ticket first (see :meth:`perform`; ``since`` as there)."""
        if score not in SURVEY_SCORES:
            raise self._error(BadArguments, "survey_usage", number=ticket.id)
        seen = S(ticket.state)
        ticket = tickets.lock(session, ticket.id)
        is_reporter = session.exec(select(TicketReporter.id).where(
            TicketReporter.ticket_id == ticket.id, TicketReporter.person_key == actor.key)).first() is not None
        if not (is_reporter or self.may_manage(session, actor, ticket)):
            raise self._error(NotAllowed, "survey_not_reporter", number=ticket.id)
        ctx = _Ctx(session, ticket, actor, SURVEY_SCORES[score], origin, now or self.clock(), "survey",
                   seen=seen, since=since)
        if S(ticket.state) is not S.RESOLVED:
            self._check_not_overtaken(ctx)
            raise self._error(IllegalMove, "survey_closed", number=ticket.id, state=S(ticket.state).label)
        if origin is not None:
            ctx.told.add(origin.identity)
        tickets.record(session, ticket, actor.key, "survey", SURVEY_SCORES[score], at=ctx.now, data={"score": score})
        if score == 3:
            self._reopen(ctx, "ticket_reopened_unsatisfied")
        else:
            self._moves(ctx, S.CLOSED, data={"score": score})
            self.announce(ctx, "ticket_closed", f"close:{ticket.id}", rating=SURVEY_SCORES[score])
        return ctx.replies

    def close_unanswered(self, session: Session, ticket: Ticket, *, now: datetime) -> list[BotReply]:
        """Close a resolved ticket whose survey got no answer in time (the sweep calls this with the
        ticket locked and checked to be resolved)."""
        ctx = _Ctx(session, ticket, Person(key=tickets.SYSTEM, name="系统"), "", None, now, "close")
        tickets.move(session, ticket, S.CLOSED, tickets.SYSTEM, "满意度调查超时未回复，自动关闭", at=now, data={"score": None})
        self.announce(ctx, "ticket_closed_timeout", f"close:{ticket.id}")
        return ctx.replies


def parse_urgency(value: Urgency | str | None) -> Urgency | None:
    """``urgent`` / ``加急`` (or 加急 in Traditional) → Urgency.URGENT; None when not understood."""
    if isinstance(value, Urgency):
        return value
    value = to_simplified((value or "").strip())  # 緊急 too
    for u in Urgency:
        if value in (u.value, u.label):
            return u
    return None


def find_person(session: Session, text: str) -> Person | None:
    """A declared person by account key (``playground:wangfang``) or name (``王芳``, also matching 「王芳（网格员）」)."""
    text = text.strip().lstrip("@")
    if not text:
        return None
    person = session.exec(select(Person).where(Person.key == text)).first()
    if person:
        return person
    declared = list(session.exec(select(Person).where(Person.declared).order_by(Person.id)))
    for p in declared:
        if p.name == text:
            return p
    for p in declared:
        if p.name and p.name.split("（")[0].split("(")[0] == text:
            return p
    return None
