"""Routes of the web playground: the page, its identities and rooms, posting, and a live stream.

Two modes (bots.channels.playground_mode):
- ``open``, only while no real channel is configured: anyone picks an identity from the grids
  file's playground accounts, since nothing real is at stake;
- ``signed-in``, with a real channel configured and LINLI_PLAYGROUND=true: every call needs a
  console session, and posts speak as that account's person (its playground account); a
  client-chosen sender is refused.
In both, only rooms bound to a grid (the grids file's ``playground:`` chats) exist, and posts
are rate-limited per client address and per room before anything is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session, select
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from adapters.base import InboundError
from bots.console import auth
from bots.runtime import Runtime
from bots.throttle import Throttle, retry_after
from core import json_input
from core.grids import Role
from core.masking import mask
from core.message import Message
from core.models import Chat, Grid, InboxMessage, OutboxMessage, Person
from core.people import accounts_of
from core.tickets import MAX_NUMBER
from core.timefmt import local

PAGE = Path(__file__).resolve().parent / "static" / "playground.html"
ROLE_LABELS = {
    Role.RESIDENT: "居民", Role.GRID_WORKER: "网格员", Role.CARE_CENTER: "养老服务中心",
    Role.VOLUNTEER: "志愿者", Role.ADMIN: "指挥中心",
}


def transcript(session: Session, chat_key: str, after_in: int = 0, after_out: int = 0, limit: int = 200) -> list[dict]:
    """Messages in a playground room after the given cursors: people's (inbox) and the bot's (sent outbox).

    The room is a group: phone and ID numbers are masked in everything it shows, people's
    messages too (the page quotes them under the bot's answers)."""
    items: list[dict] = []
    rows_in = session.exec(
        select(InboxMessage).where(InboxMessage.chat_key == chat_key, InboxMessage.id > after_in).order_by(InboxMessage.id).limit(limit)
    )
    for row in rows_in:
        p = row.payload
        if p.get("kind") != "message":
            continue
        items.append({
            "kind": "in", "id": row.id, "message_id": p["message_id"], "sender_id": p["sender_id"],
            "sender_name": mask(p.get("sender_name") or p["sender_id"]), "text": mask(p.get("text", "")),
            "at": local(row.received_at).strftime("%H:%M"), "ts": row.received_at.timestamp(),
        })
    rows_out = session.exec(
        select(OutboxMessage).where(OutboxMessage.chat_key == chat_key, OutboxMessage.status == "sent", OutboxMessage.id > after_out)
        .order_by(OutboxMessage.id).limit(limit)
    )
    for row in rows_out:
        p = row.payload
        item = {
            "kind": "bot", "id": row.id, "message_id": row.platform_message_id, "text": mask(p["text"]),
            "reply_to": p.get("reply_to_message_id"), "buttons": p.get("buttons", []), "ticket_id": row.ticket_id,
            "at": local(row.sent_at).strftime("%H:%M"), "ts": row.sent_at.timestamp(),
        }
        if p.get("edit_message_id"):
            # A card edit replaces the earlier bot message, as on Telegram.
            item |= {"kind": "edit", "target": p["edit_message_id"]}
        elif p.get("alert_for_action"):
            # An answer to a button press is shown only to the person who pressed it.
            pressed = session.get(InboxMessage, row.inbox_id) if row.inbox_id else None
            item |= {"kind": "alert", "to": pressed.payload.get("sender_id") if pressed else None}
        items.append(item)
    return sorted(items, key=lambda i: i["ts"])


CURSOR = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
CSRF_HEADER = "x-csrf-token"
ROOM_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Speaker:
    """Who a signed-in visitor speaks as: their person's playground account."""

    sender_id: str
    name: str
    role: str
    grid: str | None
    csrf: str


def walkthrough_start(rooms: list[dict], people: list[dict]) -> dict:
    """Where a visitor starts when the URL names no room or identity (README's walk-through): the residents'
    room whose grid has a grid worker to confirm and the most residents to speak, as its first resident."""
    def living(room: dict, role: Role) -> list[dict]:
        return [p for p in people if p["role"] == role and p["grid_id"] == room["grid_id"]]

    residents_rooms = [r for r in rooms if r["audience"] == "residents"] or rooms
    if not residents_rooms:
        return {"as": people[0]["id"] if people else None, "room": None}
    room = max(residents_rooms, key=lambda r: (bool(living(r, Role.GRID_WORKER)), len(living(r, Role.RESIDENT))))
    who = (living(room, Role.RESIDENT) or people or [{"id": None}])[0]
    return {"as": who["id"], "room": room["id"]}


class Playground:
    """One app's playground: its runtime, its mode (``signed_in``: every call needs a console session,
    see the module), its throttles and the rooms known to exist. One method per route (see :func:`router`)."""

    def __init__(self, runtime: Runtime, signed_in: bool, parse: Callable[[Any], Message], platform: str):
        self.runtime = runtime
        self.signed_in = signed_in
        self.parse = parse  # the playground channel's (adapters/playground), with its platform name
        self.platform = platform
        # Per process: each instance counts on its own, so behind N instances a client gets up to N
        # times the rate. That is enough for what the limits are for, bounding how fast one client
        # (or everyone together, in one room) can make the database grow, and it costs no shared
        # write per post; only declared rooms exist, so the growth stays bounded and visible.
        self.by_address = Throttle(runtime.settings.playground_posts_per_minute)
        self.by_room = Throttle(runtime.settings.playground_room_posts_per_minute)
        self.rooms_seen: dict[str, float] = {}  # declared rooms -> until when that answer is reused

    def speaker(self, request: Request) -> Speaker | None:
        """The signed-in visitor (signed-in mode), None in open mode; 401/403 when not allowed."""
        if not self.signed_in:
            return None
        with Session(self.runtime.engine) as session:
            viewer = auth.viewer_of(request, session, self.runtime.settings.secret_key)
            if viewer is None:
                raise HTTPException(401, "sign in to the console first (/console/login): with a real channel "
                                         "configured, the playground speaks as your console account")
            person = session.exec(select(Person).where(Person.key == viewer.scope.person_key)).one()
            key = accounts_of(session, person).get(self.platform)
            if key is None:
                raise HTTPException(403, f"{viewer.scope.person_name} has no playground account: add "
                                         f"'{self.platform}:<id>' to their accounts in the grids file")
            return Speaker(key.split(":", 1)[1], person.name, person.role, person.grid_id, viewer.csrf)

    def room_known(self, room: str) -> bool:
        """Declared, as looked up within the last minute (no database call)."""
        return self.rooms_seen.get(room, 0.0) > time.monotonic()

    def room_exists(self, room: str) -> bool:
        if self.room_known(room):
            return True
        with Session(self.runtime.engine) as session:
            chat = session.get(Chat, f"{self.platform}:{room}")
            found = chat is not None and chat.grid_id is not None and chat.active
        if found:
            self.rooms_seen[room] = time.monotonic() + ROOM_CACHE_SECONDS
        return found

    def check_room(self, room: str) -> None:
        if not self.room_exists(room):
            raise HTTPException(404, f"no playground room {room!r}: rooms are the playground chats of the grids file")

    def reader(self, request: Request, room: str | None = None) -> None:
        self.speaker(request)
        if room is not None:
            self.check_room(room)

    def page(self, request: Request) -> Response:
        try:
            self.speaker(request)
        except HTTPException as exc:
            if exc.status_code == 401:
                return RedirectResponse("/console/login?next=/playground", status_code=303)
            raise
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    def setup(self, request: Request) -> dict:
        """Rooms (playground chats in the grids file: residents' groups and staff rooms) and the identities a visitor may take."""
        me = self.speaker(request)
        with Session(self.runtime.engine) as session:
            grids = {g.id: g.name for g in session.exec(select(Grid))}
            # residents' groups first, then the staff rooms where 催办, 督办 and emergencies arrive
            rooms = [
                {"id": c.chat_id, "title": c.title or c.chat_id, "grid_id": c.grid_id, "grid": grids.get(c.grid_id, ""), "audience": c.audience}
                for c in session.exec(select(Chat).where(Chat.platform == self.platform, Chat.grid_id.is_not(None))
                                      .order_by(Chat.audience, Chat.key))
            ]
            if me is not None:
                people = [{"id": me.sender_id, "grid_id": me.grid, "name": me.name, "role": me.role,
                           "role_label": ROLE_LABELS.get(Role(me.role), me.role), "grid": grids.get(me.grid, "")}]
                return {"rooms": rooms, "people": people, "signed_in": True, "csrf": me.csrf,
                        "default": {"as": me.sender_id, "room": walkthrough_start(rooms, people)["room"]}}
            people = [
                {"id": p.key.split(":", 1)[1], "grid_id": p.grid_id, "name": p.name, "role": p.role,
                 "role_label": ROLE_LABELS.get(Role(p.role), p.role), "grid": grids.get(p.grid_id, "")}
                for p in session.exec(select(Person).where(Person.key.startswith(self.platform + ":"), Person.declared)
                                      .order_by(Person.id)).all()
            ]
        order = [Role.RESIDENT, Role.GRID_WORKER, Role.CARE_CENTER, Role.VOLUNTEER, Role.ADMIN]
        people.sort(key=lambda p: order.index(Role(p["role"])))
        return {"rooms": rooms, "people": people, "signed_in": False, "default": walkthrough_start(rooms, people)}

    async def post(self, request: Request) -> dict:
        me = await run_in_threadpool(self.speaker, request)
        if me is not None:
            auth.check_token(me.csrf, request.headers.get(CSRF_HEADER))
        try:
            payload = json_input.loads(await request.body())
        except ValueError:  # not JSON, not UTF-8, or nested too deep
            raise HTTPException(400, f"body must be JSON (UTF-8), nested at most {json_input.MAX_DEPTH} levels") from None
        if me is not None and isinstance(payload, dict):
            if payload.get("sender_id", me.sender_id) != me.sender_id:
                raise HTTPException(403, "sender_id is decided by your console sign-in; leave it out")
            payload = {**payload, "sender_id": me.sender_id, "sender_name": me.name}
        try:
            message = self.parse(payload)
        except InboundError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        if not self.room_known(message.chat_id):
            await run_in_threadpool(self.check_room, message.chat_id)
        address = request.client.host if request.client else "unknown"
        wait = self.by_address.take(address) or self.by_room.take(message.chat_id)
        if wait:
            return JSONResponse({"detail": f"too many messages; try again in {retry_after(wait)} s"}, status_code=429,
                                headers={"Retry-After": retry_after(wait)})
        result = await self.runtime.ingest(message)
        return {"accepted": True, "duplicate": result.duplicate, "inbox_id": result.inbox_id, "replies": len(result.outbox)}

    def messages(self, request: Request, room: str, after_in: CURSOR = 0, after_out: CURSOR = 0) -> dict:
        self.reader(request, room)
        with Session(self.runtime.engine) as session:
            return {"items": transcript(session, f"{self.platform}:{room}", after_in, after_out)}

    async def stream(self, room: str, request: Request) -> EventSourceResponse:
        """Server-sent events: every message in the room as it appears (polls the database, so any instance works)."""
        await run_in_threadpool(self.reader, request, room)
        chat_key = f"{self.platform}:{room}"

        def read(after_in: int, after_out: int) -> list[dict]:
            with Session(self.runtime.engine) as session:
                return transcript(session, chat_key, after_in, after_out)

        async def events() -> AsyncIterator[ServerSentEvent]:
            after_in = after_out = 0
            yield ServerSentEvent(retry=1000)
            while True:
                self.runtime.changed.clear()  # before reading: a change while we read wakes the next wait at once
                items = await run_in_threadpool(read, after_in, after_out)
                for item in items:
                    if item["kind"] == "in":
                        after_in = max(after_in, item["id"])
                    else:
                        after_out = max(after_out, item["id"])
                    yield ServerSentEvent(json.dumps(item, ensure_ascii=False))
                try:
                    await asyncio.wait_for(self.runtime.changed.wait(), timeout=1.0)
                except TimeoutError:
                    yield ServerSentEvent(comment="keep-alive")

        return EventSourceResponse(events(), headers={"Cache-Control": "no-cache"})


def router(runtime: Runtime, *, parse: Callable[[Any], Message], platform: str, signed_in: bool = False) -> APIRouter:
    """The playground's routes; ``signed_in``: every call needs a console session (see the module).
    The playground channel (adapters/playground) asks for them with its ``parse`` and platform name."""
    pg = Playground(runtime, signed_in, parse, platform)
    r = APIRouter(include_in_schema=False)
    r.add_api_route("/playground", pg.page, methods=["GET"], response_class=HTMLResponse)
    r.add_api_route("/playground/api/setup", pg.setup, methods=["GET"])
    r.add_api_route("/playground/api/messages", pg.post, methods=["POST"], status_code=202)
    r.add_api_route("/playground/api/rooms/{room}/messages", pg.messages, methods=["GET"])
    r.add_api_route("/playground/api/rooms/{room}/stream", pg.stream, methods=["GET"])
    return r
