"""Live updates of the ticket list: server-sent events (sse-starlette) of new tickets and changed rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from bots.console import auth
from bots.console.render import grid_names
from bots.deps import RuntimeDep, ViewerDep
from bots.runtime import Runtime
from bots.ticket_view import TicketView
from core import search, tickets
from core.db import pk
from core.models import Ticket, utcnow
from core.search import TicketFilter

POLL_SECONDS = 1.0  # the database is polled, so every instance's changes show
router = APIRouter()


@dataclass
class Watch:
    """What one live view has seen: the newest ticket, when it last looked, and each watched row's state and colour."""

    after: int
    since: datetime
    watched: set[int]
    known: dict[int, tuple[str, str]] = field(default_factory=dict)

    def poll(self, runtime: Runtime, viewer: auth.Viewer) -> list[dict]:
        """New tickets in the viewer's scope, and watched or recently updated ones whose state or colour changed."""
        now = utcnow()
        out = []
        with Session(runtime.engine) as s:
            names = grid_names(s)
            conds = search.where_clauses(s, TicketFilter(), viewer.scope, now)
            fresh = s.exec(select(Ticket).where(*conds, col(Ticket.id) > self.after).order_by(col(Ticket.id)).limit(50)).all()
            changed = s.exec(select(Ticket).where(*conds, Ticket.updated_at >= self.since).limit(200)).all()
            watch = s.exec(select(Ticket).where(*conds, col(Ticket.id).in_(sorted(self.watched)))).all() if self.watched else []
            self.since = now - timedelta(seconds=1)
            row = lambda t: TicketView.of(t, now=now, actions=runtime.bot.actions, grid_names=names).row()  # noqa: E731
            for t in fresh:
                self.after = max(self.after, pk(t))
                self.watched.add(pk(t))
                item = row(t)
                self.known[pk(t)] = (item["state"], item["colour"])
                out.append({"type": "new", **item})
            for t in [*changed, *watch]:
                item = row(t)
                if self.known.get(pk(t)) != (item["state"], item["colour"]):
                    first = pk(t) not in self.known
                    self.known[pk(t)] = (item["state"], item["colour"])
                    if not first or t in changed:
                        out.append({"type": "update", **item})
        return out


@router.get("/events")
async def events(request: Request, runtime: RuntimeDep, v: ViewerDep, ids: str = "",
                 after: int = Query(0, ge=0, le=tickets.MAX_NUMBER)) -> EventSourceResponse:
    """Server-sent events: new tickets in the viewer's scope, and state or colour changes of watched ones."""
    watched = {int(i) for i in ids.split(",")[:500] if i.strip().isdecimal() and 0 < int(i) <= tickets.MAX_NUMBER}
    watch = Watch(after=after, since=utcnow() - timedelta(seconds=2), watched=watched)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(retry=2000)
        await run_in_threadpool(watch.poll, runtime, v)  # the page already shows the current state
        while True:
            for item in await run_in_threadpool(watch.poll, runtime, v):
                yield ServerSentEvent(json.dumps(item, ensure_ascii=False), event="ticket")
            yield ServerSentEvent(comment="keep-alive")
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(stream(), headers={"Cache-Control": "no-cache"})
