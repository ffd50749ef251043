"""The community bot: turns one normalised message into ticket changes and replies.

It sees only :class:`core.message.Message` and returns :class:`BotReply` objects; the
pipeline stores those in the outbox in the same transaction. No platform code here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bots.cards import card_edit
from bots.chat_events import handle_event
from bots.commands import CommandWord, ParsedCommand, action_data, parse_action, parse_command
from bots.templates import Templates
from core import tickets
from core.classify import Classification, classify
from core.message import Button, Message, MessageKind, OutgoingReply
from core.models import Chat, Person, Ticket, utcnow
from core.people import can_manage, display_name, ensure_chat, ensure_person, workers_for
from core.sla import SlaPolicies
from core.taxonomy import Urgency
from core.ticket_states import IllegalTransition, TicketState


@dataclass
class BotReply:
    """A reply plus what the outbox needs: a key unique within the inbound message, and the ticket."""

    reply: OutgoingReply
    key: str
    ticket_id: int | None = None


@dataclass
class Turn:
    """One inbound message being handled, with who and where it came from."""

    session: Session
    message: Message
    chat: Chat
    person: Person
    now: datetime
    replies: list[BotReply] = field(default_factory=list)

    @property
    def script(self) -> str:
        return self.chat.script

    def say(self, text: str, key: str, *, ticket_id: int | None = None, buttons: list[list[Button]] | None = None) -> None:
        """Reply in the chat, threaded to the person's message."""
        m = self.message
        self.replies.append(
            BotReply(
                OutgoingReply(
                    platform=m.platform, chat_id=m.chat_id, text=text,
                    reply_to_message_id=m.message_id if m.kind is not MessageKind.ACTION else m.reply_to_message_id,
                    thread_id=m.thread_id, buttons=buttons or [],
                    recipient_id=None if m.is_group else m.sender_id,
                ),
                key, ticket_id,
            )
        )

    def refuse(self, text: str, key: str, *, ticket_id: int | None = None) -> None:
        """Say no: to a button press privately (an alert only the presser sees), to a typed command in the chat."""
        m = self.message
        if m.kind is not MessageKind.ACTION:
            self.say(text, key, ticket_id=ticket_id)
            return
        self.replies.append(BotReply(
            OutgoingReply(platform=m.platform, chat_id=m.chat_id, text=text, thread_id=m.thread_id,
                          recipient_id=None if m.is_group else m.sender_id, alert_for_action=m.message_id),
            key, ticket_id,
        ))


COMMANDS: list[CommandWord] = [
    CommandWord("status", ("查询", "查进度", "进度"), "status", usage="查询 编号，如「查询 12」"),
    CommandWord("confirm", ("确认", "受理"), "confirm", usage="确认 编号"),
    CommandWord("reject", ("驳回", "不予受理"), "reject", usage="驳回 编号 原因"),
    CommandWord("resolve", ("办结",), "resolve", usage="办结 编号 处理结果"),
    CommandWord("help", ("帮助", "使用说明"), "help", takes_number=False),
]
WORKER_COMMANDS = {"confirm", "reject", "resolve"}


class CommunityBot:
    """Conversation logic shared by every channel."""

    def __init__(
        self,
        templates: Templates,
        sla: SlaPolicies,
        *,
        classify_fn: Callable[[str], Classification] = classify,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.templates = templates
        self.sla = sla
        self.classify = classify_fn
        self.clock = clock

    def text(self, turn: Turn, template: str, /, **values) -> str:
        return self.templates.render(template, turn.script, **values)

    # -- entry point -------------------------------------------------------------------

    def handle(self, session: Session, message: Message) -> list[BotReply]:
        """Handle one message inside the caller's transaction; return the replies to store."""
        if message.kind is MessageKind.EVENT:
            return handle_event(session, message)
        chat = ensure_chat(session, message)
        if chat.grid_id is None or not chat.active:
            return []  # unknown chat: recorded, ignored until an admin binds it to a grid
        person = ensure_person(session, message, chat.grid_id)
        turn = Turn(session, message, chat, person, self.clock())
        if message.kind is MessageKind.ACTION:
            action = parse_action(message.action_data)
            if action:
                name, number = action
                spoken = next((c.words[0] for c in COMMANDS if c.name == name), name)  # 确认, not "confirm"
                self.run_command(turn, ParsedCommand(name, number, "", spoken))
            return turn.replies
        if message.kind is MessageKind.EDIT:
            self.handle_edit(turn)
            return turn.replies
        if message.kind is not MessageKind.MESSAGE:
            return []
        text = message.content
        if not text:
            return []
        command = parse_command(text, COMMANDS)
        if command is not None:
            self.run_command(turn, command)
            return turn.replies
        result = self.classify(text)
        if result.is_request:
            self.file_request(turn, result)
        return turn.replies

    # -- filing ------------------------------------------------------------------------

    def file_request(self, turn: Turn, result: Classification) -> Ticket:
        """Open a ticket for a request and tell the resident its number."""
        m = turn.message
        confirm_due, resolve_due = self.sla.due_dates(result.category, result.urgency, turn.now)
        skip_confirmation = result.urgency is Urgency.EMERGENCY or (turn.person.role == "care_center" and turn.person.trusted)
        ticket = tickets.open_ticket(
            turn.session, text=m.content, category=result.category, urgency=result.urgency,
            chat_key=m.chat_key, reporter_key=m.sender_key, confidence=result.confidence,
            state=TicketState.CONFIRMED if skip_confirmation else TicketState.PENDING,
            grid_id=turn.chat.grid_id, origin_message_id=m.message_id, thread_id=m.thread_id,
            location=result.location, confirm_due_at=confirm_due, resolve_due_at=resolve_due, at=turn.now,
        )
        workers = workers_for(turn.session, turn.chat.grid_id)
        values = {"number": ticket.id, "category": result.category.label}
        if workers:
            text = self.text(turn, "ticket_created", grid_worker=display_name(workers[0]), **values)
        else:
            text = self.text(turn, "ticket_created_no_worker", **values)
        buttons = []
        if ticket.state == TicketState.PENDING:
            buttons = [[
                Button(label=self.text(turn, "button_confirm"), data=action_data("confirm", ticket.id)),
                Button(label=self.text(turn, "button_reject"), data=action_data("reject", ticket.id)),
            ]]
        turn.say(text, f"created:{ticket.id}", ticket_id=ticket.id, buttons=buttons)
        return ticket

    def handle_edit(self, turn: Turn) -> None:
        """The reporter edited the message that opened a ticket: a still-pending ticket takes the new text."""
        m = turn.message
        ticket = turn.session.exec(
            select(Ticket).where(Ticket.chat_key == m.chat_key, Ticket.origin_message_id == m.message_id)
        ).first()
        if ticket is None or ticket.state != TicketState.PENDING or ticket.created_by != m.sender_key:
            return
        if not m.content or m.content == ticket.text:
            return
        result = self.classify(m.content)
        tickets.revise(turn.session, ticket, m.content, m.sender_key, at=turn.now,
                       category=result.category if result.is_request else None,
                       urgency=result.urgency if result.is_request else None)

    # -- commands ----------------------------------------------------------------------

    def run_command(self, turn: Turn, cmd: ParsedCommand) -> None:
        spec = next((c for c in COMMANDS if c.name == cmd.name), None)
        if spec is None:
            turn.say(self.text(turn, "help"), "help")
            return
        if spec.takes_number and cmd.number is None:
            turn.say(self.text(turn, "command_usage", usage=spec.usage), f"usage:{spec.name}")
            return
        if spec.name == "help":
            turn.say(self.text(turn, "help"), "help")
            return
        ticket = turn.session.get(Ticket, cmd.number)
        if ticket is None:
            turn.say(self.text(turn, "ticket_not_found", number=cmd.number), f"notfound:{cmd.number}")
            return
        if spec.name in WORKER_COMMANDS and not can_manage(turn.session, turn.person, ticket.grid_id):
            template = "action_not_allowed" if turn.message.kind is MessageKind.ACTION else "not_allowed"
            turn.refuse(self.text(turn, template, name=display_name(turn.person), command=cmd.spoken),
                        f"denied:{spec.name}:{ticket.id}", ticket_id=ticket.id)
            return
        getattr(self, f"cmd_{spec.name}")(turn, ticket, cmd)

    def cmd_status(self, turn: Turn, ticket: Ticket, cmd: ParsedCommand) -> None:
        turn.say(self.status_text(turn, ticket), f"status:{ticket.id}", ticket_id=ticket.id)

    def status_text(self, turn: Turn, ticket: Ticket) -> str:
        from core.timefmt import local_short

        deadline = ""
        if ticket.resolve_due_at and TicketState(ticket.state).is_open:
            deadline = self.text(turn, "ticket_status_deadline", due=local_short(ticket.resolve_due_at))
        summary = ticket.text if len(ticket.text) <= 40 else ticket.text[:40] + "…"
        return self.text(
            turn, "ticket_status", number=ticket.id, state=TicketState(ticket.state).label,
            category=ticket.category.label, summary=summary, created=local_short(ticket.created_at), deadline=deadline,
        )

    def _transition(self, turn: Turn, ticket: Ticket, target: TicketState, cmd: ParsedCommand, template: str, **values) -> None:
        try:
            tickets.move(turn.session, ticket, target, turn.person.key, cmd.rest, at=turn.now)
        except IllegalTransition:
            turn.refuse(self.text(turn, "illegal_move", number=ticket.id, state=TicketState(ticket.state).label, command=cmd.spoken),
                        f"illegal:{cmd.name}:{ticket.id}", ticket_id=ticket.id)
            return
        text = self.text(turn, template, number=ticket.id, category=ticket.category.label,
                         actor=display_name(turn.person), note=cmd.rest or "—", **values)
        self.announce(turn, ticket, text, f"{cmd.name}:{ticket.id}")

    def cmd_confirm(self, turn: Turn, ticket: Ticket, cmd: ParsedCommand) -> None:
        self._transition(turn, ticket, TicketState.CONFIRMED, cmd, "ticket_confirmed")

    def cmd_reject(self, turn: Turn, ticket: Ticket, cmd: ParsedCommand) -> None:
        self._transition(turn, ticket, TicketState.REJECTED, cmd, "ticket_rejected")

    def cmd_resolve(self, turn: Turn, ticket: Ticket, cmd: ParsedCommand) -> None:
        self._transition(turn, ticket, TicketState.RESOLVED, cmd, "ticket_resolved")

    # -- announcements -----------------------------------------------------------------

    def announce(self, turn: Turn, ticket: Ticket, text: str, key: str) -> None:
        """Tell the chat where the command came from, and every reporter's chat, once each."""
        turn.say(text, key, ticket_id=ticket.id)
        card = card_edit(turn.session, ticket, self.text(turn, "card_state", state=TicketState(ticket.state).label,
                                                         actor=display_name(turn.person)))
        if card is not None:
            turn.replies.append(BotReply(card, f"{key}:card", ticket.id))
        told = {(turn.message.chat_key, turn.message.thread_id)}
        for reporter in tickets.reporters(turn.session, ticket.id):
            where = (reporter.chat_key, reporter.thread_id)
            if where in told:
                continue
            told.add(where)
            platform, chat_id = reporter.chat_key.split(":", 1)
            chat = turn.session.get(Chat, reporter.chat_key)
            is_group = chat is None or chat.is_group
            turn.replies.append(BotReply(
                OutgoingReply(platform=platform, chat_id=chat_id, text=text, reply_to_message_id=reporter.message_id,
                              thread_id=reporter.thread_id,
                              recipient_id=None if is_group else reporter.person_key.split(":", 1)[1]),
                f"{key}:to:{reporter.chat_key}:{reporter.thread_id}", ticket.id,
            ))
