"""Put a photo on a ticket the way the worker leaves it (for tests of the pages and the API)."""

from __future__ import annotations

import itertools

from bots.photo_store import store_for
from core import db, photos
from core.models import Ticket

_ids = itertools.count(1)


def add_photo(runtime, number: int, data: bytes | None, *, state: str = "fetched", role: str = "report",
              error: str | None = None) -> int:
    """A photo row of ticket ``number``: fetched (``data`` stored as the worker stores it), pending or failed."""
    with db.session_scope(runtime.engine) as s:
        ticket = s.get(Ticket, number)
        (row,) = photos.record(s, platform="telegram", chat_key=ticket.chat_key, sender_key=ticket.created_by,
                               message_id=f"photo-{next(_ids)}", refs=["file-ref"], ticket_id=number, role=role)
        row.state, row.last_error = state, error
        if state == "fetched":
            kind = photos.check_content(data, runtime.settings.photos_max_bytes)
            row.sha256 = store_for(runtime.settings).put(data, kind)
            row.content_type, row.size = kind, len(data)
        s.flush()
        return row.id
