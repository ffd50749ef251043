"""What every channel adapter provides, and the errors webhooks map to HTTP statuses.

Adapters parse and verify platform payloads into :class:`core.message.Message` and deliver
:class:`core.message.OutgoingReply`. They never touch tickets.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from adapters.media import Fetch, attached_images
from core.message import Message, OutgoingReply

if TYPE_CHECKING:
    import httpx


class InboundError(Exception):
    """A platform payload we refuse. ``status`` is the HTTP answer; nothing is stored."""

    status = 400


class SignatureError(InboundError):
    status = 403


class PayloadTooLarge(InboundError):
    status = 413


class MalformedPayload(InboundError):
    status = 400


class DeliveryError(Exception):
    """Sending failed. ``retryable`` says whether the outbox should try again, and after how long."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class RecipientUnreachable(DeliveryError):
    """The person cannot be reached on this channel any more (e.g. WeChat's 48-hour window).

    Never retried. The runtime records the reason and tells the ticket's grid worker instead,
    so a resident is never silently left without an answer.
    """

    def __init__(self, reason: str):
        super().__init__(reason, retryable=False)


@dataclass(frozen=True)
class Delivered:
    """A successful send; ``platform_message_id`` lets later replies edit or thread on it."""

    platform_message_id: str | None = None


@dataclass(frozen=True)
class RateLimit:
    """Platform send limits the outbox worker respects."""

    per_chat_per_minute: int | None = None
    global_per_second: float | None = None


class ChannelAdapter(ABC):
    """One platform. ``platform`` is the prefix of its chat keys (``telegram``, ``wecom-bot`` …)."""

    platform: str
    rate_limit: RateLimit = RateLimit()
    # True when deliver() can message one person by user id (OutgoingReply.recipient_id) even
    # in a chat they never opened (e.g. the WeCom app); used to reach grid workers directly.
    direct_messages: bool = False

    @abstractmethod
    async def deliver(self, reply: OutgoingReply) -> Delivered:
        """Send one reply. Raise :class:`DeliveryError` on failure; never swallow it."""

    def media_fetcher(self, client: httpx.AsyncClient) -> Fetch | None:
        """The download of this platform's image references (what ``ChannelSpec.image_refs`` read),
        with this adapter's credentials; None when it cannot fetch images (photos then fail with a reason)."""
        return None

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Called once when the service starts (set webhooks, start polling…)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Called once on shutdown."""


# -- the channel contract: what a platform package declares, and the port bots/ hands it ----------


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do; the outbox, the fallback notes and the docs read it from here."""

    edit: bool = False  # replies can edit an earlier message (a card's text after a button press)
    buttons: bool = False  # inline buttons that come back as MessageKind.ACTION
    threads: bool = False  # replies can go into a topic/thread
    # deliver() can message one person by user id (OutgoingReply.recipient_id) even in a chat they
    # never opened (e.g. the WeCom app); used to reach grid workers directly.
    one_to_one: bool = False
    rate_limit: RateLimit = RateLimit()


@dataclass(frozen=True)
class Answer:
    """A fast webhook's response: status, JSON body, and work to do after it is sent."""

    status: int
    body: dict
    after: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Route:
    """One HTTP route a channel serves.

    ``fast=True``: served before FastAPI sees the request (no routing, validation or OpenAPI),
    for the hottest webhooks; ``endpoint(headers, body) -> Answer`` and only POST. Otherwise
    ``endpoint`` is an ordinary FastAPI endpoint (e.g. ``async def (request: Request) -> Response``)."""

    path: str
    endpoint: Callable[..., Any]
    methods: tuple[str, ...] = ("POST",)
    fast: bool = False


class Ingested(Protocol):
    """What the host says about one message it took (bots.runtime.IngestResult)."""

    inbox_id: int
    duplicate: bool

    @property
    def replies(self) -> list[OutgoingReply]: ...


class SingletonLock(Protocol):
    """A database lock only one instance holds (PostgreSQL advisory lock, or a file lock on SQLite)."""

    def acquire(self) -> bool: ...
    def release(self) -> None: ...


class Host(Protocol):
    """The port ``bots/`` hands a channel: how it gives messages over, and the shared services it may use.

    One way of wiring inbound for every platform: a webhook route, a polling loop or a long
    connection parses the platform's payload into a :class:`~core.message.Message` and calls
    :meth:`ingest` (replies leave through the outbox and the channel's adapter), or
    :meth:`answer_inline` when the platform wants the answer in its own response."""

    settings: Any

    async def ingest(self, message: Message, *, defer: bool | None = None) -> Ingested:
        """Store and (unless deferred) process one message; a platform retry comes back ``duplicate``."""
        ...

    async def answer_inline(self, message: Message, *, deadline: float | None = None) -> list[OutgoingReply]:
        """Ingest ``message`` now and take the replies to its chat out of the outbox (marked sent), to
        carry them in the platform's own response; [] when they were not ready before ``deadline``."""
        ...

    def render(self, name: str, **values: Any) -> str:
        """One reply template (config/templates.yaml)."""
        ...

    def token_store(self) -> Any:
        """Access tokens shared by every instance (Redis when configured, else the database)."""
        ...

    def nonce_store(self) -> Any:
        """Callback nonces seen by any instance (where the access tokens are)."""
        ...

    def database_store(self) -> Any:
        """Short-lived values in the shared database, always (things taken once, e.g. response_urls)."""
        ...

    def singleton_lock(self, name: str) -> SingletonLock:
        """A lock that exactly one instance holds, for a connection or a puller that must be single
        (``name`` is declared in ``core.locks.KEYS``)."""
        ...

    def page(self, name: str, **options: Any) -> Any:
        """A web page the host serves for a channel (the playground's), as an APIRouter."""
        ...

    # For a channel that stores in bulk with records of its own (the chat archive commits each
    # batch with its cursor in one transaction, then has the stored messages processed):
    engine: Any  # the shared database
    archive_source: Any  # a test's or a demo's stand-in for the chat archive's SDK, else None

    def process(self, inbox_id: int) -> Any:
        """Process one stored inbox row now."""
        ...

    def notify_changed(self) -> None:
        """Wake this process's live views."""
        ...

    def adapter(self, platform: str) -> ChannelAdapter | None:
        """Another channel's sender (the chat archive relays through the WeCom app)."""
        ...


@dataclass
class Wiring:
    """What mounting a channel gives the host: its senders, its routes, objects to expose on ``app.state``."""

    adapters: list[ChannelAdapter] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)  # Route, or a FastAPI APIRouter
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelSpec:
    """One platform, declared once in its package's ``__init__`` (which imports no SDK).

    ``module`` is imported only when ``enabled(settings)``; its ``mount(host) -> Wiring`` adds the
    platform's routes and senders. ``settings`` is the pydantic model of its ``LINLI_*`` variables,
    composed into config.settings.Settings."""

    name: str  # the chat-key prefix: telegram, wecom-bot …
    title: str  # how people call it (微信公众号, 企业微信 …)
    module: str
    settings: type
    enabled: Callable[[Any], bool]
    capabilities: Capabilities = Capabilities()
    # Whether the enabled channel can post a notice nobody asked for into chat ``chat_id``.
    notices: Callable[[Any, str], bool] = lambda settings, chat_id: True
    setup: str = ""  # how to set it up, for `linli channels` and the docs
    # Photos: the references of the images a message carries (file ids, media ids, URLs), read from
    # the message alone (at ingest, before any download); the delivering adapter's media_fetcher()
    # downloads them. ``max_bytes`` lets a platform that offers several sizes pick one that fits.
    image_refs: Callable[[Message, int], list[str]] = attached_images

    def mount(self, host: Host) -> Wiring:
        return importlib.import_module(self.module).mount(host)
