"""Routes of the web playground: the page, its identities and rooms, posting, and a live stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from adapters import playground
from adapters.base import InboundError
from bots.runtime import Runtime
from core.grids import Role
from core.models import Chat, Grid, InboxMessage, OutboxMessage, Person
from core.timefmt import local

PAGE = Path(__file__).resolve().parent / "static" / "playground.html"
ROLE_LABELS = {
    Role.RESIDENT: "居民", Role.GRID_WORKER: "网格员", Role.CARE_CENTER: "养老服务中心",
    Role.VOLUNTEER: "志愿者", Role.ADMIN: "指挥中心",
}


def transcript(session: Session, chat_key: str, after_in: int = 0, after_out: int = 0, limit: int = 200) -> list[dict]:
    """Messages in a playground room after the given cursors: people's (inbox) and the bot's (sent outbox)."""
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
            "sender_name": p.get("sender_name") or p["sender_id"], "text": p.get("text", ""),
            "at": local(row.received_at).strftime("%H:%M"), "ts": row.received_at.timestamp(),
        })
    rows_out = session.exec(
        select(OutboxMessage).where(OutboxMessage.chat_key == chat_key, OutboxMessage.status == "sent", OutboxMessage.id > after_out)
        .order_by(OutboxMessage.id).limit(limit)
    )
    for row in rows_out:
        p = row.payload
        item = {
            "kind": "bot", "id": row.id, "message_id": row.platform_message_id, "text": p["text"],
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


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/playground", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    @r.get("/playground/api/setup")
    def setup() -> dict:
        """Rooms (playground chats in the grids file: residents' groups and staff rooms) and the identities a visitor may take."""
        with Session(runtime.engine) as session:
            grids = {g.id: g.name for g in session.exec(select(Grid))}
            # residents' groups first, then the staff rooms where 催办, 督办 and emergencies arrive
            rooms = [
                {"id": c.chat_id, "title": c.title or c.chat_id, "grid": grids.get(c.grid_id, ""), "audience": c.audience}
                for c in session.exec(select(Chat).where(Chat.platform == playground.PLATFORM, Chat.grid_id.is_not(None))
                                      .order_by(Chat.audience, Chat.key))
            ]
            people = [
                {"id": p.key.split(":", 1)[1], "name": p.name, "role": p.role, "role_label": ROLE_LABELS.get(Role(p.role), p.role),
                 "grid": grids.get(p.grid_id, "")}
                for p in session.exec(select(Person).where(Person.key.startswith(playground.PLATFORM + ":"), Person.declared)).all()
            ]
        order = [Role.RESIDENT, Role.GRID_WORKER, Role.CARE_CENTER, Role.VOLUNTEER, Role.ADMIN]
        people.sort(key=lambda p: order.index(Role(p["role"])))
        return {"rooms": rooms, "people": people}

    @r.post("/playground/api/messages", status_code=202)
    async def post(request: Request) -> dict:
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPException(400, "body must be JSON (UTF-8)") from None
        try:
            message = playground.parse(payload)
        except InboundError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        result = await runtime.ingest(message)
        return {"accepted": True, "duplicate": result.duplicate, "inbox_id": result.inbox_id, "replies": len(result.outbox)}

    @r.get("/playground/api/rooms/{room}/messages")
    def messages(room: str, after_in: int = 0, after_out: int = 0) -> dict:
        with Session(runtime.engine) as session:
            return {"items": transcript(session, f"{playground.PLATFORM}:{room}", after_in, after_out)}

    @r.get("/playground/api/rooms/{room}/stream")
    async def stream(room: str, request: Request) -> StreamingResponse:
        """Server-sent events: every message in the room as it appears (polls the database, so any instance works)."""
        chat_key = f"{playground.PLATFORM}:{room}"

        def read(after_in: int, after_out: int) -> list[dict]:
            with Session(runtime.engine) as session:
                return transcript(session, chat_key, after_in, after_out)

        async def events():
            after_in = after_out = 0
            yield "retry: 1000\n\n"
            while not await request.is_disconnected():
                items = await run_in_threadpool(read, after_in, after_out)
                for item in items:
                    if item["kind"] == "in":
                        after_in = max(after_in, item["id"])
                    else:
                        after_out = max(after_out, item["id"])
                    yield f"data: {json.dumps(item, ensure_ascii=False)}\n\n"
                runtime.changed.clear()
                try:
                    await asyncio.wait_for(runtime.changed.wait(), timeout=1.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return r
