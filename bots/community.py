"""The community bot: turns one normalised message into ticket changes and replies.

It sees only :class:`core.message.Message` and returns :class:`BotReply` objects; the
pipeline stores those in the outbox in the same transaction. No platform code here.
Every action on an existing ticket goes through :class:`bots.actions.Actions`, the same
code the console and the scheduler use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlmodel import Session, select

from bots.actions import SURVEY_BUTTONS, ActionError, Actions
from bots.chat_commands import ROUTER, perform
from bots.chat_events import handle_event
from bots.commands import Command, ParsedCommand, action_data, parse_action
from bots.followup import FollowUps, chat_place
from bots.replies import BotReply, Destination, origin_of
from bots.residence import as_seen_by, declare_residence
from bots.templates import Templates, call_text
from config.settings import CONFIG_DIR
from core import tickets
from core.classify import Classification, classify
from core.duplicates import Report, Verdict, emergency_kind, find_duplicate, objects_of, place_of, same_object
from core.grids import Role
from core.masking import mask
from core.message import Button, Message, MessageKind, OutgoingReply
from core.models import Chat, OutboxMessage, Person, Ticket, TicketReporter, utcnow
from core.people import ensure_chat, ensure_person, titled_name, workers_for
from core.routing import RoutingTable, load_routing
from core.sla import SlaPolicies
from core.taxonomy import Urgency
from core.ticket_actions import ACTIONS as TICKET_ACTIONS
from core.ticket_states import TicketState

__all__ = ["BotReply", "COMMANDS", "CommunityBot", "Turn"]

S = TicketState
SURVEY_WORDS = {"1": 1, "2": 2, "3": 3, "满意": 1, "基本满意": 2, "不满意": 3}
ACKS = ("谢谢", "感谢", "收到", "好的", "辛苦", "👍", "ok", "OK")


@dataclass
class Turn:
    """One inbound message being handled, with who and where it came from."""

    session: Session
    message: Message
    chat: Chat
    person: Person
    now: datetime
    replies: list[BotReply] = field(default_factory=list)
    classified: dict[str, Classification] = field(default_factory=dict)  # text → result, within this turn

    @cached_property
    def origin(self) -> Destination:
        """This chat, threaded to the message (a button press threads to the card)."""
        return origin_of(self.message, self.chat)

    @property
    def script(self) -> str:
        return self.origin.script

    def say(self, text: str, key: str, *, ticket_id: int | None = None, buttons: list[list[Button]] | None = None) -> None:
        """Reply in the chat, threaded to the person's message (numbers masked in groups)."""
        self.replies.append(self.origin.reply(text, key, ticket_id=ticket_id, buttons=buttons))

    def refuse(self, text: str, key: str, *, ticket_id: int | None = None) -> None:
        """Say no: to a button press privately (an alert only the presser sees), to a typed command in the chat."""
        m = self.message
        if m.kind is not MessageKind.ACTION:
            self.say(text, key, ticket_id=ticket_id)
            return
        self.replies.append(BotReply(
            OutgoingReply(platform=m.platform, chat_id=m.chat_id, text=mask(text) if m.is_group else text, thread_id=m.thread_id,
                          recipient_id=None if m.is_group else m.sender_id, alert_for_action=m.message_id),
            key, ticket_id,
        ))


# The chat commands (bots.chat_commands.ROUTER), for callers that want the list.
COMMANDS: list[Command] = ROUTER.commands


class CommunityBot:
    """Conversation logic shared by every channel."""

    def __init__(
        self,
        templates: Templates,
        sla: SlaPolicies,
        *,
        routing: RoutingTable | None = None,
        classify_fn: Callable[[str], Classification] = classify,
        clock: Callable[[], datetime] = utcnow,
        duplicate_window: timedelta = timedelta(hours=72),
        can_receive: Callable[[str], bool] | None = None,
        survey_timeout: timedelta = timedelta(hours=72),
        question_expiry: timedelta = timedelta(hours=2),
        ask_to_file_per_hour: int = 3,
    ):
        self.templates = templates
        self.sla = sla
        self.routing = routing or load_routing(CONFIG_DIR / "routing.yaml")
        self.classify = classify_fn
        self.clock = clock
        self.duplicate_window = duplicate_window
        self.actions = Actions(templates, sla, self.routing, clock=clock, can_receive=can_receive,
                               survey_ttl=survey_timeout)
        self.followups = FollowUps(self, expiry=question_expiry, ask_limit=ask_to_file_per_hour)

    def classify_once(self, turn: Turn, text: str) -> Classification:
        """The classifier's result for ``text``, computed once per turn (follow-ups and filing both ask)."""
        if text not in turn.classified:
            turn.classified[text] = self.classify(text)
        return turn.classified[text]

    def text(self, turn: Turn, template: str, /, **values) -> str:
        return self.templates.render(template, turn.script, **values)

    # -- entry point -------------------------------------------------------------------

    def handle(self, session: Session, message: Message) -> list[BotReply]:
        """Handle one message inside the caller's transaction; return the replies to store."""
        if message.kind is MessageKind.EVENT:
            return handle_event(session, message)
        chat = as_seen_by(session, message, ensure_chat(session, message))
        if chat.grid_id is None or not chat.active:
            return []  # unknown chat: recorded, ignored until an admin binds it to a grid
        person = ensure_person(session, message, chat.grid_id)
        turn = Turn(session, message, chat, person, self.clock())
        if message.kind is MessageKind.ACTION:
            self.handle_button(turn)
        elif message.kind is MessageKind.EDIT:
            self.handle_edit(turn)
        elif message.kind is MessageKind.MESSAGE and message.content:
            self.handle_text(turn)
        return turn.replies

    def handle_text(self, turn: Turn) -> None:
        text = turn.message.content
        command = ROUTER.parse(text)
        if command is not None:
            ROUTER.dispatch(self, turn, command)
            return
        # A pending follow-up question hears the person's next message first (bots/followup.py).
        if self.answer_survey(turn, text) or self.followups.answer(turn, text) or self.add_info(turn, text):
            return
        if declare_residence(self, turn, text):
            return
        result = self.classify_once(turn, text)
        if not self._trusted(turn.person) and self.followups.maybe_ask_to_file(turn, result, text):
            return
        if not result.is_request:
            return  # chatter gets silence
        self.file_request(turn, result)

    def handle_button(self, turn: Turn) -> None:
        action = parse_action(turn.message.action_data)
        if not action:
            return
        name, number, target = action
        wrong = next((n for n in (number, target) if n is not None and not 1 <= n <= tickets.MAX_NUMBER), None)
        if wrong is not None:  # forged or garbled button data: no ticket (or question) can have that number
            turn.refuse(self.text(turn, "ticket_not_found", number=wrong), f"notfound:{wrong}")
            return
        if self.followups.press(turn, name, number, target):
            return
        if name == "merge" and target is None:
            self.offer_merge_targets(turn, number)
            return
        if name in SURVEY_BUTTONS.values():
            score = next(s for s, n in SURVEY_BUTTONS.items() if n == name)
            ticket = tickets.get(turn.session, number)
            if ticket is not None:
                self._survey(turn, ticket, score)
            return
        command = ROUTER.get(name)
        if command is None or name not in TICKET_ACTIONS:
            return  # not a button of ours: only ticket actions have buttons
        ROUTER.dispatch(self, turn, ParsedCommand(name, number, "" if target is None else f"到 {target}", command.words[0]))

    def offer_merge_targets(self, turn: Turn, number: int) -> None:
        """The 合并 button: offer the open tickets of the same grid it could join, newest first, same category first."""
        ticket = tickets.get(turn.session, number)
        if ticket is None:
            return
        if not self.actions.may_manage(turn.session, turn.person, ticket):
            perform(self, turn, number, "merge")  # the usual refusal
            return
        candidates = merge_candidates(turn.session, ticket)
        if not candidates:
            turn.refuse(self.text(turn, "merge_no_candidates", number=number), f"merge-none:{number}", ticket_id=number)
            return
        buttons = [[Button(label=self.text(turn, "button_merge_into_text", master=c.id, summary=_short(c.text)),
                           data=action_data("merge", number, c.id))] for c in candidates]
        turn.say(self.text(turn, "merge_choose", number=number), f"merge-choose:{number}", ticket_id=number, buttons=buttons)

    def handle_edit(self, turn: Turn) -> None:
        """The reporter edited the message that opened a ticket: a still-pending ticket takes the new text."""
        m = turn.message
        ticket = turn.session.exec(
            select(Ticket).where(Ticket.chat_key == m.chat_key, Ticket.origin_message_id == m.message_id)
        ).first()
        ticket = tickets.lock(turn.session, ticket.id) if ticket is not None else None
        if ticket is None or ticket.state != TicketState.PENDING or ticket.created_by != m.sender_key:
            return
        if not m.content or m.content == ticket.text:
            return
        result = self.classify(m.content)
        tickets.revise(turn.session, ticket, m.content, m.sender_key, at=turn.now,
                       category=result.category if result.is_request else None,
                       urgency=result.urgency if result.is_request else None)

    # -- filing ------------------------------------------------------------------------

    def _trusted(self, person: Person) -> bool:
        return person.role == Role.CARE_CENTER and person.trusted

    def file_request(
        self, turn: Turn, result: Classification, *, text: str | None = None, origin_message_id: str | None = None,
        on_behalf_of: str | None = None, location: str | None = None, elder: str | None = None,
    ) -> Ticket:
        """Open a ticket for a request (or join the open one it duplicates) and answer in the chat."""
        m = turn.message
        text = text if text is not None else m.content
        origin_message_id = origin_message_id or m.message_id
        emergency = result.urgency is Urgency.EMERGENCY
        implied = chat_place(turn.chat)
        ask_about = None
        if on_behalf_of is None:
            report = Report(text, result.category, turn.person.key, turn.now, emergency_kind(result), implied)
            match = find_duplicate(turn.session, grid_id=turn.chat.grid_id, report=report, window=self.duplicate_window,
                                   kind_of=lambda t: emergency_kind(self.classify(t.text)))
            if match is not None and match.verdict is Verdict.JOIN:
                joined = tickets.lock(turn.session, match.ticket.id)  # still open once locked, or a new ticket
                if joined is not None and S(joined.state).is_open:
                    return self._join(turn, joined, result, text, origin_message_id)
            ask_about = match.ticket if match is not None else None
        if location is None and not result.location:
            said = place_of(text)
            location = said.label() if said.known else implied
        confirm_due, resolve_due = self.sla.due_dates(result.category, result.urgency, turn.now)
        skip_confirmation = emergency or self._trusted(turn.person)
        ticket = tickets.open_ticket(
            turn.session, text=text, category=result.category, urgency=result.urgency,
            chat_key=m.chat_key, reporter_key=m.sender_key, confidence=result.confidence,
            state=S.CONFIRMED if skip_confirmation else S.PENDING,
            grid_id=turn.chat.grid_id, origin_message_id=origin_message_id, thread_id=m.thread_id,
            location=location or result.location, on_behalf_of=on_behalf_of,
            confirm_due_at=confirm_due, resolve_due_at=resolve_due, at=turn.now,
        )
        if skip_confirmation:
            ticket.department = self.actions.route(turn.session, ticket).department
        workers = workers_for(turn.session, turn.chat.grid_id)
        worker = titled_name(workers[0]) if workers else "网格员"
        values = {"number": ticket.id, "category": result.category.spoken, "grid_worker": worker}
        buttons = self.actions.worker_buttons(ticket, turn.script)
        reply_to_origin = turn.origin if origin_message_id == m.message_id else _rethread(turn.origin, origin_message_id)
        if emergency or result.possible_danger:
            # A confirmed emergency alarms the worker and the level above at once; a possible
            # danger gives the resident the same number and advice but only flags it to the worker.
            ec = self.routing.emergency_call(text, result.category, result.keywords)
            call = call_text(ec.call)
            resident, staff, levels = ("emergency", "staff_emergency", 2) if emergency else (
                "possible_danger", "staff_possible_danger", 1)
            notices = self.actions.notify_levels(turn.session, ticket, staff, f"staff:{ticket.id}", levels=levels,
                                                 skip={turn.origin.identity}, now=turn.now, call=call, advice=ec.advice)
            told = self.actions.told(notices.reached, turn.script, worker)
            turn.replies.append(reply_to_origin.reply(
                self.text(turn, resident, call=call, advice=ec.advice, told=told, **values),
                f"created:{ticket.id}", ticket_id=ticket.id, buttons=buttons))
            turn.replies += notices.replies
            turn.replies += self.actions.report_missed(turn.session, ticket, notices.missed, f"staff:{ticket.id}",
                                                       fallback=turn.origin, now=turn.now)
            self.followups.maybe_ask_place(turn, ticket, result, text)
            return ticket
        if elder:
            template = "ticket_created_relay"
        else:
            template = "ticket_created" if workers else "ticket_created_no_worker"
        turn.replies.append(reply_to_origin.reply(self.text(turn, template, elder=elder or "", **values),
                                                  f"created:{ticket.id}", ticket_id=ticket.id, buttons=buttons))
        if result.urgency is Urgency.URGENT:
            call = call_text(self.routing.emergency_call(text, result.category, result.keywords).call)
            turn.replies += self.actions.notify_levels(turn.session, ticket, "staff_emergency", f"staff:{ticket.id}",
                                                       levels=1, skip={turn.origin.identity}, now=turn.now, call=call).replies
        if ask_about is not None:
            self.followups.ask_same_place(turn, ticket, ask_about)
        else:
            self.followups.maybe_ask_place(turn, ticket, result, text)
        return ticket

    def _join(self, turn: Turn, ticket: Ticket, result: Classification, text: str, origin_message_id: str) -> Ticket:
        m = turn.message
        added = tickets.add_reporter(turn.session, ticket, m.sender_key, m.chat_key, message_id=origin_message_id,
                                     thread_id=m.thread_id, at=turn.now)
        if added:
            tickets.record(turn.session, ticket, m.sender_key, "info", text, at=turn.now, data={"duplicate": True})
        values = {"number": ticket.id, "state": S(ticket.state).label}
        if result.urgency is Urgency.EMERGENCY or ticket.urgency is Urgency.EMERGENCY or result.possible_danger:
            ec = self.routing.emergency_call(text, result.category, result.keywords)
            template = "emergency_joined" if Urgency.EMERGENCY in (result.urgency, ticket.urgency) else "possible_danger_joined"
            turn.say(self.text(turn, template, call=call_text(ec.call), advice=ec.advice, **values), f"joined:{ticket.id}",
                     ticket_id=ticket.id)
        else:
            template = "duplicate_joined" if added else "duplicate_already"
            turn.say(self.text(turn, template, **values), f"joined:{ticket.id}", ticket_id=ticket.id)
        return ticket

    # -- replies to the bot's messages ---------------------------------------------------

    def _replied_ticket(self, turn: Turn) -> Ticket | None:
        """The ticket of the bot message this message replies to, if any."""
        ref = turn.message.reply_to_message_id
        if not ref:
            return None
        row = turn.session.exec(select(OutboxMessage).where(
            OutboxMessage.chat_key == turn.chat.key, OutboxMessage.platform_message_id == ref,
            OutboxMessage.ticket_id.is_not(None))).first()
        return turn.session.get(Ticket, row.ticket_id) if row else None

    def answer_survey(self, turn: Turn, text: str) -> bool:
        """「1/2/3」 from a reporter of a resolved ticket is the survey answer. True when handled."""
        score = SURVEY_WORDS.get(text.strip().rstrip("。.!！").translate(str.maketrans("１２３", "123")))
        if score is None:
            return False
        ticket = self._replied_ticket(turn)
        if ticket is None or S(ticket.state) is not S.RESOLVED:
            ticket = turn.session.exec(
                select(Ticket).join(TicketReporter, TicketReporter.ticket_id == Ticket.id)
                .where(TicketReporter.person_key == turn.person.key, TicketReporter.chat_key == turn.chat.key,
                       Ticket.state == S.RESOLVED)
                .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())
            ).first()
        if ticket is None:
            return False
        self._survey(turn, ticket, score)
        return True

    def _survey(self, turn: Turn, ticket: Ticket, score: int) -> None:
        try:
            turn.replies += self.actions.answer_survey(turn.session, ticket, turn.person, score, origin=turn.origin,
                                                       now=turn.now, since=turn.message.received_at)
        except ActionError as exc:
            turn.refuse(self.text(turn, exc.template, **exc.values), f"survey-refused:{ticket.id}", ticket_id=ticket.id)

    def add_info(self, turn: Turn, text: str) -> bool:
        """A reply to the bot's message about an open ticket adds what it says to the ticket."""
        ticket = self._replied_ticket(turn)
        if ticket is None or not S(ticket.state).is_open:
            return False
        if len(text) < 4 or any(text.startswith(a) for a in ACKS):
            return True  # a thank-you under the bot's message: nothing to add, nothing to say
        perform(self, turn, ticket.id, "info", note=text)
        return True


def _rethread(origin: Destination, message_id: str) -> Destination:
    from dataclasses import replace

    return replace(origin, reply_to_message_id=message_id)


def merge_candidates(session: Session, ticket: Ticket, limit: int = 4) -> list[Ticket]:
    """Open tickets of the same grid that ``ticket`` could be merged into: the same object first (电梯,
    路灯 …), then the same category, then newest."""
    open_states = [st for st in TicketState if st.is_open]
    rows = session.exec(
        select(Ticket).where(Ticket.grid_id == ticket.grid_id, Ticket.id != ticket.id, Ticket.state.in_(open_states))
        .order_by(Ticket.id.desc()).limit(50)
    ).all()
    mine = objects_of(ticket.text)
    return sorted(rows, key=lambda t: (not same_object(mine, objects_of(t.text)), t.category != ticket.category, -t.id))[:limit]


def _short(text: str, limit: int = 12) -> str:
    """A ticket's text cut for a button label, numbers masked."""
    from core.masking import mask

    text = " ".join(mask(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
