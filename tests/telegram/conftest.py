"""A fake Telegram Bot API server (real HTTP on 127.0.0.1) and Bot API-shaped updates.

The fake answers the methods linli calls the way the Bot API documents them, records every
call, can fail the next calls of a method on demand (429 with retry_after, 5xx, 400), and
serves getUpdates from a queue with long polling.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "123456789:AAE-linli-test-token"
BOT_ID = 123456789
SECRET = "s3cret-for-tests"
GROUP = -1001234567890  # bound to grid xingfu-1 in config/grids.example.yaml
WORKER = 200000001  # 王芳, grid worker of xingfu-1
RESIDENT = 300000001


@dataclass
class Call:
    method: str
    params: dict
    result: object = None  # what the fake answered (the sent Message for sendMessage)


@dataclass
class FakeBotAPI:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, str, dict]]] = field(default_factory=dict)
    updates: list[dict] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id → bytes served by getFile and /file/
    file_failures: list[int] = field(default_factory=list)  # HTTP statuses the next file downloads answer
    _ids: itertools.count = field(default_factory=lambda: itertools.count(5000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _new_update: asyncio.Event | None = None

    # -- test controls -------------------------------------------------------------------

    def fail(self, method: str, status: int, description: str, *, times: int = 1, **parameters) -> None:
        """Answer the next ``times`` calls of ``method`` with an error; ``parameters`` are the
        Bot API's ResponseParameters (``retry_after``, ``migrate_to_chat_id``)."""
        with self._lock:
            self.failures.setdefault(method, []).extend([(status, description, parameters)] * times)

    def push_update(self, update: dict) -> None:
        with self._lock:
            self.updates.append(update)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)

    def called(self, method: str) -> list[dict]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def sent(self) -> list[dict]:
        """The messages the fake answered sendMessage with (what the chat now shows)."""
        with self._lock:
            return [c.result for c in self.calls if c.method == "sendMessage" and c.result is not None]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    # -- the server ----------------------------------------------------------------------

    async def handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.path_params["token"] != TOKEN:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        form = await request.form()
        params = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        call = Call(method, params)
        with self._lock:
            self.calls.append(call)
            queued = self.failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure is not None:
            status, description, parameters = failure
            body = {"ok": False, "error_code": status, "description": description}
            if parameters:
                body["parameters"] = parameters
            return JSONResponse(body, status_code=status)
        if method == "getUpdates":
            call.result = await self._updates(params)
        else:
            call.result = self._result(method, params)
        if call.result is None:  # getFile of an unknown file_id
            return JSONResponse({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status_code=400)
        return JSONResponse({"ok": True, "result": call.result})

    async def file(self, request: Request) -> Response:
        """``/file/bot<token>/<file_path>``: the bytes getFile pointed at (or a queued failure)."""
        if request.path_params["token"] != TOKEN:
            return Response(status_code=401)
        file_id = request.path_params["path"].removeprefix("photos/").removesuffix(".jpg")
        with self._lock:
            self.calls.append(Call("file", {"file_id": file_id}))
            status = self.file_failures.pop(0) if self.file_failures else None
        if status is not None:
            return Response(b"fake failure", status_code=status)
        if file_id not in self.files:
            return Response(status_code=404)
        return Response(self.files[file_id], media_type="application/octet-stream")

    async def _updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset", 0))
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), 2.0)
        while True:
            with self._lock:
                self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]  # confirmed ones are forgotten
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return ready
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                pass

    def _result(self, method: str, params: dict):
        if method in ("sendMessage", "editMessageText"):
            chat_id = params["chat_id"]
            message_id = params["message_id"] if method == "editMessageText" else next(self._ids)
            message = {
                "message_id": message_id, "date": int(time.time()),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "邻里助手", "username": "linli_test_bot"},
                "chat": {"id": chat_id, "type": "supergroup" if int(chat_id) < 0 else "private", "title": "幸福里邻里互助"},
                "text": str(params.get("text", "")),
            }
            if method == "editMessageText":
                message["edit_date"] = int(time.time())
            if "message_thread_id" in params:
                message["message_thread_id"] = params["message_thread_id"]
                message["is_topic_message"] = True
            return message
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self.files:
                return None
            return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(self.files[file_id]),
                    "file_path": f"photos/{file_id}.jpg"}
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "邻里助手", "username": "linli_test_bot"}
        return True  # answerCallbackQuery, setWebhook, deleteWebhook

    def app(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(app):
            self._loop = asyncio.get_running_loop()
            self._new_update = asyncio.Event()
            yield

        async def healthz(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        return Starlette(routes=[Route("/healthz", healthz), Route("/bot{token}/{method}", self.handle, methods=["POST", "GET"]),
                                 Route("/file/bot{token}/{path:path}", self.file)],
                         lifespan=lifespan)


@pytest.fixture
def bot_api(serve_app) -> Iterator[FakeBotAPI]:
    """A fresh fake Bot API on its own loopback port for this test."""
    fake = FakeBotAPI()
    with serve_app(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def tg_settings(settings, bot_api):
    """Settings with Telegram on (webhook mode) pointed at the fake Bot API."""
    return settings.model_copy(update={
        "telegram_token": TOKEN, "telegram_webhook_secret": SECRET,
        "telegram_api_base": bot_api.url, "telegram_mode": "webhook",
    })


@dataclass
class Service:
    app: object
    runtime: object
    client: httpx.AsyncClient

    async def post_update(self, update: dict, secret: str | None = SECRET) -> httpx.Response:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    @property
    def channel(self):
        return self.app.state.telegram


@pytest.fixture
def start_service():
    """``async with start_service(settings) as svc``: the whole app (lifespan included) on the fake."""
    from bots.app import create_app
    from bots.runtime import Runtime

    @asynccontextmanager
    async def start(settings, poll_timeout: int | None = None, clock=None) -> AsyncIterator[Service]:
        runtime = Runtime(settings, clock=clock) if clock else Runtime(settings)
        app = create_app(runtime=runtime)
        if poll_timeout is not None:
            app.state.telegram.adapter.poll_timeout = poll_timeout
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as client:
                yield Service(app, runtime, client)
        runtime.engine.dispose()

    return start


class Updates:
    """Updates shaped as https://core.telegram.org/bots/api#update documents them."""

    def __init__(self) -> None:
        self._update_ids = itertools.count(900001)
        self._message_ids = itertools.count(101)

    @staticmethod
    def user(user_id: int, first_name: str = "张", last_name: str | None = "阿姨") -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}
        if last_name:
            user["last_name"] = last_name
        return user

    @staticmethod
    def chat(chat_id: int = GROUP, *, forum: bool = False, kind: str | None = None) -> dict:
        kind = kind or ("private" if chat_id > 0 else "supergroup")
        chat = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = "张"
        else:
            chat["title"] = "幸福里邻里互助"
        if forum:
            chat["is_forum"] = True
        return chat

    def message(self, text: str | None = None, *, user_id: int = RESIDENT, chat_id: int = GROUP, thread_id: int | None = None,
                reply_to: dict | None = None, message_id: int | None = None, name: tuple[str, str | None] = ("张", "阿姨"),
                **fields) -> dict:
        """A Message object (not yet wrapped in an Update)."""
        m = {
            "message_id": message_id or next(self._message_ids),
            "from": self.user(user_id, *name),
            "chat": self.chat(chat_id, forum=thread_id is not None),
            "date": 1767225600,
        }
        if thread_id is not None:
            m["message_thread_id"] = thread_id
            m["is_topic_message"] = True
            m["reply_to_message"] = reply_to or {
                "message_id": thread_id, "from": self.user(WORKER, "王", "芳"), "chat": self.chat(chat_id, forum=True),
                "date": 1767139200, "message_thread_id": thread_id, "is_topic_message": True,
                "forum_topic_created": {"name": "报事报修", "icon_color": 7322096},
            }
        elif reply_to is not None:
            m["reply_to_message"] = reply_to
        if text is not None:
            m["text"] = text
        m.update(fields)
        return m

    def update(self, **body) -> dict:
        return {"update_id": next(self._update_ids), **body}

    def text(self, text: str, **kw) -> dict:
        return self.update(message=self.message(text, **kw))

    def edited(self, message: dict, new_text: str) -> dict:
        return self.update(edited_message={**message, "text": new_text, "edit_date": message["date"] + 60})

    def press(self, data: str, card: dict, *, user_id: int = WORKER) -> dict:
        """A callback_query: ``card`` is the bot's message carrying the button."""
        return self.update(callback_query={
            "id": f"cb{next(self._update_ids)}", "from": self.user(user_id, "王", "芳"), "message": card,
            "chat_instance": "-5123456789012345678", "data": data,
        })


@pytest.fixture
def updates() -> Updates:
    return Updates()
