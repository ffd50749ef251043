"""What the bot does with chat events (``MessageKind.EVENT``): none of them is answered in the chat.

- ``chat_migrated`` (event_data ``from_chat_id``, ``to_chat_id``): the chat changed its id, e.g. a
  Telegram group became a supergroup; its grid binding and tickets move to the new id.
- ``bot_added`` / ``bot_removed``: the bot joined or left the chat; a chat the bot left is inactive.
Other events (members joining, the bot's rights changing) are only recorded in the inbox.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from core.chats import migrate_chat, set_bot_present
from core.message import Message

log = logging.getLogger("linli.bot")


def handle_event(session: Session, message: Message) -> list:
    """Apply one chat event inside the caller's transaction. Returns no replies."""
    if message.event == "chat_migrated":
        old_id, new_id = message.event_data.get("from_chat_id"), message.event_data.get("to_chat_id")
        if old_id and new_id:
            moved = migrate_chat(session, f"{message.platform}:{old_id}", f"{message.platform}:{new_id}", at=message.sent_at)
            log.info("chat %s:%s is now %s:%s (%d tickets moved); update the grids file to the new id",
                     message.platform, old_id, message.platform, new_id, moved)
    elif message.event in ("bot_added", "bot_removed"):
        set_bot_present(session, message.chat_key, message.event == "bot_added")
    return []
