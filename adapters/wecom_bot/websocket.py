"""The WeCom AI bot over a long connection (智能机器人长连接), LINLI_WECOM_BOT_MODE=websocket.

The bot opens a WebSocket to WeCom (LINLI_WECOM_BOT_WS_URL, by default
``wss://openws.work.weixin.qq.com``) and subscribes with its bot id and secret, so a community
site needs no public HTTPS address and no callback encryption. Every frame is JSON
``{"cmd", "headers": {"req_id"}, "body"}``; WeCom acknowledges a frame we send with
``{"headers": {"req_id"}, "errcode", "errmsg"}`` carrying the same req_id:

- ``aibot_subscribe`` {bot_id, secret}: the first frame; errcode 0 means subscribed;
- ``ping`` every LINLI_WECOM_BOT_HEARTBEAT_SECONDS; two pings without an ack and the connection
  is taken for dead and opened again;
- ``aibot_msg_callback`` / ``aibot_event_callback``: a message or an event, whose body is the
  JSON a callback-mode POST carries once decrypted (:func:`~adapters.wecom_bot.adapter.parse_callback`);
- ``aibot_respond_msg`` with the callback's req_id: our answer to that message (a finished stream,
  or a template card with buttons), accepted for a few minutes after the callback;
- ``aibot_send_msg`` {chatid, msgtype …}: a message nobody asked for (later replies, notices);
- an ``aibot_event_callback`` with ``disconnected_event``: another connection for this bot took
  over (WeCom keeps one); this one stops and waits before it tries again, so two never fight.

A dropped connection is opened again after 1, 2, 4 … up to 30 s. Exactly one instance holds the
connection: a database lock (the sweeper's, with its own key) is taken before connecting and
checked at every heartbeat; the others wait and take over when it is released or its holder dies.
Written on ``websockets`` rather than Tencent's ``wecom-aibot-sdk``, which brings its own
reconnection loop that knows nothing of that lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from adapters.base import (
    ChannelAdapter,
    Delivered,
    DeliveryError,
    Host,
    MalformedPayload,
    SingletonLock,
    Wiring,
)
from adapters.media import Fetch
from adapters.wecom_bot import CHANNEL, PLATFORM
from adapters.wecom_bot.adapter import (
    card_reply,
    images_of,
    parse_callback,
    reply_payload,
    to_message,
)
from adapters.wx_common import edit_skipped
from core.message import Message, MessageKind, OutgoingReply

log = logging.getLogger("linli.wecom_bot")

SUBSCRIBE, PING = "aibot_subscribe", "ping"
MSG_CALLBACK, EVENT_CALLBACK = "aibot_msg_callback", "aibot_event_callback"
RESPOND, SEND = "aibot_respond_msg", "aibot_send_msg"
LOCK_NAME = "wecom-bot-websocket"  # declared in core.locks.KEYS
ANSWER_WINDOW_SECONDS = 240.0  # WeCom takes an answer to a callback's req_id for 5 minutes; keep a margin
MAX_MISSED_PINGS = 2


class SubscribeRefused(Exception):
    """WeCom refused the bot id and secret (or did not answer the subscription)."""


class WeComError(Exception):
    """WeCom acknowledged a frame with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode


def new_req_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def frame(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        data["body"] = body
    return json.dumps(data, ensure_ascii=False)


@dataclass
class Backoff:
    """Delays before opening the connection again: first, doubling, up to ``most`` seconds."""

    first: float = 1.0
    most: float = 30.0
    _next: float = 0.0

    def next(self) -> float:
        delay = self._next or self.first
        self._next = min(delay * 2, self.most)
        return delay

    def reset(self) -> None:
        self._next = 0.0


class LongConnection:
    """One bot's connection: holds the lock, subscribes, beats, reconnects, and correlates acks by req_id.

    ``on_frame(frame)`` gets each message or event callback in its own task, so that it can
    send frames and wait for their acks while this reads on."""

    def __init__(self, *, url: str, bot_id: str, secret: str, lock: SingletonLock,
                 on_frame: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
                 heartbeat: float = 30.0, backoff: Backoff | None = None, lock_retry: float = 5.0,
                 ack_timeout: float = 10.0):
        self.url, self.bot_id, self.secret, self.lock = url, bot_id, secret, lock
        self.on_frame = on_frame
        self.heartbeat, self.lock_retry, self.ack_timeout = heartbeat, lock_retry, ack_timeout
        self.backoff = backoff or Backoff()
        self.subscribed = asyncio.Event()
        self.holds_lock = False
        self._ws: Any = None
        self._pending: dict[str, asyncio.Future] = {}
        self._sending: dict[str, asyncio.Lock] = {}
        self._missed = 0
        self._superseded = False
        self.last_delay: float | None = None  # the wait before the latest reconnection
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._handlers: set[asyncio.Task] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="linli-wecom-bot-websocket")

    async def stop(self) -> None:
        self._stopping = True  # also when a cancellation is lost (asyncio.wait_for in Python 3.11 can lose one)
        if self._ws is not None:
            with contextlib.suppress(websockets.WebSocketException, OSError):
                await self._ws.close()  # a clean close (1000), not the 1011 a cancelled connection sends
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self.holds_lock:
            await asyncio.to_thread(self.lock.release)
            self.holds_lock = False

    async def run(self) -> None:
        """Hold the connection until cancelled: wait for the lock, connect, and open it again when it drops."""
        while not self._stopping:
            self.holds_lock = await asyncio.to_thread(self.lock.acquire)
            if not self.holds_lock:
                await asyncio.sleep(self.lock_retry)  # another instance holds the connection
                continue
            try:
                await self._session()
                if not self._stopping:
                    log.warning("WeCom AI-bot connection closed by the server")
            except SubscribeRefused as exc:
                log.error("WeCom AI bot refused the subscription (LINLI_WECOM_BOT_ID / LINLI_WECOM_BOT_SECRET?): %s", exc)
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("WeCom AI-bot connection failed: %s", exc)
            finally:
                self.subscribed.clear()
                self._ws = None
                self._fail_pending("the WeCom AI-bot connection closed")
            if self._superseded:
                self._superseded = False
                delay = self.backoff.most  # another connection took over: do not fight it
            else:
                delay = self.backoff.next()
            self.last_delay = delay
            log.info("opening the WeCom AI-bot connection again in %.0fs", delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with websockets.connect(self.url, open_timeout=self.ack_timeout, ping_interval=None,
                                      max_size=2**20) as ws:
            await self._subscribe(ws)
            self._ws, self._missed = ws, 0
            self.backoff.reset()
            self.subscribed.set()
            log.info("WeCom AI bot subscribed over the long connection")
            beating = asyncio.create_task(self._beat(ws))
            try:
                async for raw in ws:
                    await self._dispatch(ws, raw)
            finally:
                beating.cancel()
                await asyncio.gather(beating, return_exceptions=True)

    async def _subscribe(self, ws) -> None:
        req_id = new_req_id(SUBSCRIBE)
        await ws.send(frame(SUBSCRIBE, req_id, {"bot_id": self.bot_id, "secret": self.secret}))
        try:
            async with asyncio.timeout(self.ack_timeout):
                ack = json.loads(await ws.recv())
        except TimeoutError as exc:
            raise SubscribeRefused(f"no answer to the subscription in {self.ack_timeout:.0f}s") from exc
        except ValueError as exc:
            raise SubscribeRefused("the answer to the subscription is not JSON") from exc
        if not isinstance(ack, dict) or (ack.get("headers") or {}).get("req_id") != req_id:
            raise SubscribeRefused("the first frame was not the answer to the subscription")
        if ack.get("errcode") != 0:
            raise SubscribeRefused(f"errcode {ack.get('errcode')}: {ack.get('errmsg')}")

    async def _beat(self, ws) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            if not await asyncio.to_thread(self.lock.acquire):
                log.error("lost the WeCom AI-bot connection lock; closing so that the holder connects")
                self.holds_lock = False
                await ws.close()
                return
            if self._missed >= MAX_MISSED_PINGS:
                log.warning("no answer to %d pings; the WeCom AI-bot connection is taken for dead", self._missed)
                await ws.close()
                return
            self._missed += 1
            await ws.send(frame(PING, new_req_id(PING)))

    async def _dispatch(self, ws, raw: str | bytes) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("skipping a WeCom AI-bot frame that is not JSON")
            return
        if not isinstance(data, dict):
            return
        cmd, req_id = data.get("cmd"), str((data.get("headers") or {}).get("req_id") or "")
        if cmd in (MSG_CALLBACK, EVENT_CALLBACK):
            event = ((data.get("body") or {}).get("event") or {}) if isinstance(data.get("body"), dict) else {}
            if isinstance(event, dict) and event.get("eventtype") == "disconnected_event":
                log.error("another connection for this WeCom AI bot took over; this one closes")
                self._superseded = True
                await ws.close()
                return
            if self.on_frame is not None:
                task = asyncio.create_task(self._handle(data))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
        elif req_id.startswith(PING + "_"):
            self._missed = 0
        elif req_id in self._pending and not self._pending[req_id].done():
            self._pending[req_id].set_result(data)
        else:
            log.debug("ignoring a WeCom AI-bot frame: cmd=%s", cmd)

    async def _handle(self, data: dict[str, Any]) -> None:
        if self.on_frame is None:
            return
        try:
            await self.on_frame(data)
        except Exception:
            log.exception("could not handle a WeCom AI-bot %s", data.get("cmd"))

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))

    # -- sending ------------------------------------------------------------------------------

    async def request(self, cmd: str, body: dict[str, Any], *, req_id: str | None = None) -> dict[str, Any]:
        """Send one frame and wait for its ack. Frames with the same req_id go one at a time, each
        after the previous one's ack (WeCom's rule for several answers to one callback)."""
        req_id = req_id or new_req_id(cmd)
        lock = self._sending.setdefault(req_id, asyncio.Lock())
        try:
            async with lock:
                ws = self._ws
                if ws is None or not self.subscribed.is_set():
                    raise ConnectionError("the WeCom AI-bot long connection is not open on this instance")
                future = asyncio.get_running_loop().create_future()
                self._pending[req_id] = future
                try:
                    await ws.send(frame(cmd, req_id, body))
                    async with asyncio.timeout(self.ack_timeout):
                        ack = await future
                except websockets.ConnectionClosed as exc:
                    raise ConnectionError(f"the WeCom AI-bot long connection closed: {exc}") from exc
                finally:
                    self._pending.pop(req_id, None)
        finally:
            if not lock.locked():
                self._sending.pop(req_id, None)
        if ack.get("errcode", 0) != 0:
            raise WeComError(int(ack.get("errcode") or -1), str(ack.get("errmsg") or ""))
        return ack


class SocketBot:
    """Takes the connection's callbacks into linli: a message is answered on its own req_id with a
    finished stream (or a template card when the answer has buttons); a card click is a button press."""

    def __init__(self, host: Host, connection: LongConnection):
        self.host = host
        self.connection = connection
        connection.on_frame = self.on_frame

    async def on_frame(self, data: dict[str, Any]) -> None:
        body, req_id = data.get("body"), str((data.get("headers") or {}).get("req_id") or "")
        try:
            callback = parse_callback(json.dumps(body, ensure_ascii=False))
        except MalformedPayload as exc:
            log.warning("skipping a WeCom AI-bot %s: %s", data.get("cmd"), exc)
            return
        message = to_message(callback, {"msgtype": callback.msgtype, "chattype": callback.chattype,
                                        "aibotid": callback.aibotid, "via": "websocket"})
        if message is None:
            return  # enter_chat, feedback, files …: nothing to store
        if message.kind is MessageKind.ACTION:
            await self.host.ingest(message, defer=False)  # the answer leaves through the outbox (aibot_send_msg)
            return
        await self.answer(message, req_id)

    async def answer(self, message: Message, req_id: str) -> None:
        replies = await self.host.answer_inline(message, deadline=ANSWER_WINDOW_SECONDS)
        if not replies:
            return
        payload = reply_payload("\n\n".join(r.text for r in replies), [row for r in replies for row in r.buttons])
        try:
            await self.connection.request(RESPOND, payload, req_id=req_id)
        except (ConnectionError, TimeoutError, WeComError, websockets.WebSocketException) as exc:
            # Already marked sent (as an HTTP answer would be): say so loudly, with what was lost.
            log.error("could not answer WeCom AI-bot message %s in %s: %s", message.message_id, message.chat_key, exc)


class WeComBotSocketAdapter(ChannelAdapter):
    """Sends later replies and notices over the long connection (``aibot_send_msg``)."""

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, connection: LongConnection, *, aes_key: str | None = None):
        self.connection = connection
        self.aes_key = aes_key

    def media_fetcher(self, client: httpx.AsyncClient) -> Fetch | None:
        return images_of(client, self.aes_key)

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        if skipped := edit_skipped(reply):
            return skipped
        if reply.buttons:
            payload = card_reply(reply.text, reply.buttons)
        else:
            payload = {"msgtype": "markdown", "markdown": {"content": reply.text}}
        try:
            await self.connection.request(SEND, {"chatid": reply.chat_id, **payload})
        except ConnectionError as exc:  # another instance holds the connection, or it is being reopened
            raise DeliveryError(str(exc), retryable=True, retry_after=5.0) from exc
        except TimeoutError as exc:
            raise DeliveryError("WeCom did not acknowledge aibot_send_msg in time", retryable=True) from exc
        except WeComError as exc:
            raise DeliveryError(f"WeCom aibot_send_msg: {exc}", retryable=False) from exc
        return Delivered()

    async def start(self) -> None:
        self.connection.start()

    async def stop(self) -> None:
        await self.connection.stop()


def connection_of(host: Host) -> LongConnection:
    s = host.settings
    return LongConnection(url=s.wecom_bot_ws_url, bot_id=s.wecom_bot_id, secret=s.wecom_bot_secret,
                          lock=host.singleton_lock(LOCK_NAME),
                          heartbeat=s.wecom_bot_heartbeat_seconds)


def mount_websocket(host: Host) -> Wiring:
    """No routes: the adapter's start() opens the connection (on the instance that gets the lock)."""
    connection = connection_of(host)
    bot = SocketBot(host, connection)
    return Wiring([WeComBotSocketAdapter(connection, aes_key=host.settings.wecom_bot_aes_key)], state={"wecom_bot_socket": bot})
