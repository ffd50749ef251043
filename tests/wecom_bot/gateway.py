"""A fake WeCom long-connection gateway: a real WebSocket server on 127.0.0.1 that speaks the AI
bot's frames (aibot_subscribe, ping, aibot_msg_callback, aibot_event_callback, aibot_respond_msg,
aibot_send_msg), records every frame it gets, and can refuse, stay silent or drop on demand."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

BOT_ID = "aibot-test-id"
SECRET = "aibot-test-secret"


class Gateway:
    def __init__(self, bot_id: str = BOT_ID, secret: str = SECRET):
        self.bot_id, self.secret = bot_id, secret
        self.frames: list[dict[str, Any]] = []  # every frame received, from every connection
        self.subscriptions = 0  # successful ones
        self.answer_pings = True
        self.current: ServerConnection | None = None  # the subscribed connection
        self._changed = asyncio.Condition()
        self.url = ""

    async def __aenter__(self) -> Gateway:
        self.server = await serve(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, ws: ServerConnection) -> None:
        try:
            await self._converse(ws)
        finally:
            if self.current is ws:
                self.current = None
            async with self._changed:
                self._changed.notify_all()

    async def _converse(self, ws: ServerConnection) -> None:
        async for raw in ws:
            data = json.loads(raw)
            req_id = data["headers"]["req_id"]
            cmd = data.get("cmd")
            if cmd == "aibot_subscribe":
                body = data.get("body") or {}
                ok = body.get("bot_id") == self.bot_id and body.get("secret") == self.secret
                await ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": 0 if ok else 40058,
                                          "errmsg": "ok" if ok else "invalid bot_id or secret"}))
                if ok:
                    self.current = ws
                    self.subscriptions += 1
            elif cmd == "ping":
                if self.answer_pings:
                    await ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": 0, "errmsg": "ok"}))
            else:
                await ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": 0, "errmsg": "ok"}))
            async with self._changed:
                self.frames.append(data)
                self._changed.notify_all()

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait for ``condition()`` to hold (re-checked at every frame and closed connection)."""
        async with asyncio.timeout(timeout), self._changed:
            while not (found := condition()):
                await self._changed.wait()
            return found

    def sent(self, cmd: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("cmd") == cmd]

    async def push(self, cmd: str, body: dict[str, Any]) -> str:
        """Send a callback over the subscribed connection; returns its req_id."""
        req_id = f"cb_{secrets.token_hex(6)}"
        assert self.current is not None, "nobody is subscribed"
        await self.current.send(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}, ensure_ascii=False))
        return req_id

    async def drop(self) -> None:
        """Close the subscribed connection from the server's side."""
        assert self.current is not None
        await self.current.close()

    async def poke(self) -> None:
        """Wake waiters (conditions that depend on the client's state, not on a frame)."""
        async with self._changed:
            self._changed.notify_all()


def text_callback(text: str, *, msgid: str, user: str = "zhangsan", chat: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"msgid": msgid, "aibotid": BOT_ID, "from": {"userid": user}, "msgtype": "text",
                            "text": {"content": f"@邻里助手 {text}" if chat else text}}
    if chat:
        body |= {"chatid": chat, "chattype": "group"}
    else:
        body |= {"chattype": "single"}
    return body


def card_click(event_key: str, *, msgid: str, user: str, chat: str) -> dict[str, Any]:
    return {"msgid": msgid, "aibotid": BOT_ID, "chatid": chat, "chattype": "group", "from": {"userid": user},
            "msgtype": "event", "event": {"eventtype": "template_card_event",
                                          "template_card_event": {"event_key": event_key, "task_id": "linli-x"}}}
