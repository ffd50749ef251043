"""Finding the open ticket a new report duplicates: same grid, same category, similar words, recent.

Similarity is the overlap of character bigrams (Traditional folded to Simplified), so
「电梯坏了」 matches 「3栋电梯又坏了，没法下楼」. Two texts naming different buildings or
units (3栋 vs 5栋) are never duplicates.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core.chinese import to_simplified
from core.models import Ticket
from core.taxonomy import Category
from core.ticket_states import TicketState

DEFAULT_THRESHOLD = 0.4
OPEN_STATES = [s for s in TicketState if s.is_open]
_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-z]+")
_PLACE = re.compile(r"(\d+)\s*(?:号楼|栋|幢|单元|楼|号)")
# Words that carry tone, not the problem: 「电梯又坏了，怎么还没人修」 ~ 「电梯坏了」.
_FILLER = re.compile(r"怎么|为什么|什么|一下|一直|已经|还是|好像|真的|现在|今天|我们|你们|大家|[了又的吗呢啊吧呀哦嘛还也都很就是我你他她它这那]")


def _norm(text: str) -> str:
    return _FILLER.sub("", "".join(_KEEP.findall(to_simplified(text or "").lower())))


def bigrams(text: str) -> set[str]:
    t = _norm(text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or ({t} if t else set())


def places(text: str) -> set[str]:
    """Building/unit numbers mentioned: 「3栋502」 → {'3'}, 「5号楼」 → {'5'}."""
    return set(_PLACE.findall(to_simplified(text or "")))


def similarity(a: str, b: str) -> float:
    """0..1: shared bigrams over the smaller text's bigrams; 0 when they name different places."""
    pa, pb = places(a), places(b)
    if pa and pb and not pa & pb:
        return 0.0
    ba, bb = bigrams(a), bigrams(b)
    if not ba or not bb:
        return 0.0
    return len(ba & bb) / min(len(ba), len(bb))


def find_duplicate(
    session: Session, *, grid_id: str | None, category: Category, text: str, now: datetime, window: timedelta,
    threshold: float = DEFAULT_THRESHOLD,
) -> Ticket | None:
    """The most similar open ticket of the same grid and category raised within ``window`` before ``now``."""
    if grid_id is None or not category.is_request:
        return None
    candidates = session.exec(
        select(Ticket)
        .where(Ticket.grid_id == grid_id, Ticket.category == category, Ticket.state.in_(OPEN_STATES),
               Ticket.created_at >= now - window, Ticket.created_at <= now)
        .order_by(Ticket.id.desc())
        .limit(100)
    ).all()
    best, best_score = None, threshold
    for ticket in candidates:
        score = similarity(text, ticket.text)
        if score >= best_score:
            best, best_score = ticket, score
    return best
