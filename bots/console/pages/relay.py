"""Relays (代办): a care centre or grid worker files for an elder, in one of their groups, as the chat command does."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from bots.console import auth
from bots.console.render import forbidden, page
from bots.deps import RuntimeDep, SessionDep, ViewerDep
from bots.runtime import Runtime
from core.message import Message
from core.models import Chat, Person
from core.people import accounts_of

router = APIRouter()


def relay_chats(s: Session, v: auth.Viewer) -> dict[str, tuple[Chat, str]]:
    """Group chats in scope where this person has an account: chat key -> (chat, the sender key to use)."""
    me = s.exec(select(Person).where(Person.key == v.scope.person_key)).one()
    keys = accounts_of(s, me)
    out = {}
    for chat in s.exec(select(Chat).where(Chat.active, Chat.is_group, col(Chat.grid_id).is_not(None)).order_by(col(Chat.key))):
        if chat.platform in keys and v.scope.sees_grid(chat.grid_id):
            out[chat.key] = (chat, keys[chat.platform])
    return out


@router.get("/relay", response_class=HTMLResponse)
def relay_form(request: Request, s: SessionDep, v: ViewerDep, msg: str = "") -> HTMLResponse:
    if not v.scope.can_relay:
        return forbidden(request, v, "只有养老服务中心、网格员和指挥中心可以代办登记")
    return page(request, "relay.html", v, chats=relay_chats(s, v), msg=msg)


def relay_message(runtime: Runtime, v: auth.Viewer, chat: str, fields: tuple[str, str, str, str]) -> Message | str:
    """The 「代办 姓名 楼栋房号 [电话] 需求」 message to file in ``chat``, or what is missing."""
    with Session(runtime.engine) as s:
        target = relay_chats(s, v).get(chat)
    name, location, phone, need = fields
    # 代办's parser splits on spaces and Chinese commas: name, place and phone are one word each.
    parts = [re.sub(r"[\s，,、；;]+", "", x) for x in (name, location, phone)] + [" ".join(need.split())]
    if target is None:
        return "请选择要登记到的群"
    if not parts[0] or not parts[1] or not parts[3]:
        return "请填写老人姓名、楼栋房号和需求"
    row, sender_key = target
    return Message(platform=row.platform, chat_id=row.chat_id, message_id=f"console-{secrets.token_hex(8)}",
                   sender_id=sender_key.split(":", 1)[1], sender_name=v.scope.person_name,
                   text="代办 " + " ".join(p for p in parts if p), raw={"via": "console", "account": v.scope.username})


@router.post("/relay")
async def relay(runtime: RuntimeDep, v: ViewerDep, chat: str = Form(""), name: str = Form(""), location: str = Form(""),
                phone: str = Form(""), need: str = Form(""), csrf: str = Form("")) -> Response:
    """File for an elder exactly as the chat command 「代办 姓名 楼栋房号 [电话] 需求」 does, in the chosen group."""
    auth.check_token(v.csrf, csrf)
    if not v.scope.can_relay:
        raise HTTPException(403, "this account may not file relays")
    message = await run_in_threadpool(relay_message, runtime, v, chat, (name, location, phone, need))
    if isinstance(message, str):
        return RedirectResponse(f"/console/relay?{urlencode({'msg': message})}", status_code=303)
    result = await runtime.ingest(message, defer=False)  # shows the ticket number at once
    number = next((row.ticket_id for row in result.outbox if row.ticket_id), None)
    if number is None:
        texts = "；".join(reply.text for reply in result.replies) or "没有登记成功"
        return RedirectResponse(f"/console/relay?{urlencode({'msg': texts})}", status_code=303)
    return RedirectResponse(f"/console/tickets/{number}?{urlencode({'msg': f'已登记 #{number}，并已在群里通知', 'ok': 1})}",
                            status_code=303)
