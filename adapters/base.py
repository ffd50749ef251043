"""What every channel adapter provides, and the errors webhooks map to HTTP statuses.

Adapters parse and verify platform payloads into :class:`core.message.Message` and deliver
:class:`core.message.OutgoingReply`. They never touch tickets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from core.message import OutgoingReply


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

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Called once when the service starts (set webhooks, start polling…)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Called once on shutdown."""
