"""The moderator card: the bot's reply to a new ticket, with buttons for the grid workers.

When the ticket changes state the card is edited in place (``OutgoingReply.edit_message_id``)
to show the new state; its buttons stay only while the ticket is pending. The card is found
through the outbox row that delivered it, which holds the platform's message id.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.db import pk
from core.message import OutgoingReply
from core.models import OutboxMessage, Ticket
from core.ticket_states import TicketState


def sent_card(session: Session, ticket_id: int) -> OutboxMessage | None:
    """The delivered outbox row of the ticket's card (its first sent reply with buttons), if any."""
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.ticket_id) == ticket_id, col(OutboxMessage.status) == "sent", col(OutboxMessage.platform_message_id).is_not(None))
        .order_by(col(OutboxMessage.id))
    )
    return next((r for r in rows if r.payload.get("buttons") and not r.payload.get("edit_message_id")), None)


def card_edit(session: Session, ticket: Ticket, state_line: str) -> OutgoingReply | None:
    """An edit of the ticket's card showing ``state_line`` under its first text; None if no card was sent."""
    row = sent_card(session, pk(ticket))
    if row is None:
        return None
    card = OutgoingReply.model_validate(row.payload)
    return card.model_copy(update={
        "text": f"{card.text}\n{state_line}",
        "buttons": card.buttons if TicketState(ticket.state) is TicketState.PENDING else [],
        "edit_message_id": row.platform_message_id,
        "reply_to_message_id": None,
    })
