"""Wires Telegram: the webhook route (or long polling), the adapter, and answers to button presses.

Imported only when ``LINLI_TELEGRAM_TOKEN`` is set, so aiogram is never loaded otherwise.

- webhook mode: ``POST /webhooks/telegram``. Telegram sends the secret in
  ``X-Telegram-Bot-Api-Secret-Token``; anything else gets 403 and nothing is stored. On start
  the webhook is registered at ``LINLI_PUBLIC_URL`` + ``/webhooks/telegram`` when that URL is set.
- polling mode: no public URL needed; one instance fetches updates with getUpdates.

Every button press is answered (Telegram shows a spinner until then): a refused press with
the bot's alert, which travels through the outbox like any reply (``alert_for_action``);
any other press right after it is taken, with no text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from adapters.base import Answer, Host, InboundError, Route, Wiring
from adapters.telegram.adapter import TelegramAdapter, parse_update
from config.settings import Settings
from core import json_input
from core.message import Message, MessageKind

log = logging.getLogger("linli.telegram")

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(settings: Settings) -> str:
    """LINLI_TELEGRAM_WEBHOOK_SECRET, else one derived from the token (same on every instance)."""
    if settings.telegram_webhook_secret:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
            raise ValueError("LINLI_TELEGRAM_WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters), "
                             "as Telegram requires")
        return settings.telegram_webhook_secret
    return hmac.new(settings.telegram_token.encode(), b"linli-telegram-webhook", hashlib.sha256).hexdigest()


class TelegramChannel:
    """One bot token: parses updates, hands them to the runtime, answers button presses."""

    def __init__(self, host: Host, *, poll_timeout: int = 25):
        settings: Settings = host.settings
        self.host = host
        self.settings = settings
        self.secret = webhook_secret(settings)
        self.adapter = TelegramAdapter(
            settings.telegram_token, api_base=settings.telegram_api_base,
            on_update=self.take_and_acknowledge, on_start=self.on_start, poll_timeout=poll_timeout,
        )

    async def take(self, payload: object) -> tuple[Message, object] | None:
        """Parse and ingest one Update. Raises InboundError for a body that is not one."""
        message = parse_update(payload, bot_id=self.adapter.bot_id)
        if message is None:
            return None
        return message, await self.host.ingest(message)

    async def acknowledge(self, message: Message, result) -> None:
        """Stop the button's spinner, unless the bot answers this press itself (an alert)."""
        if message.kind is not MessageKind.ACTION or result.duplicate:
            return
        if any(r.alert_for_action == message.message_id for r in result.replies):
            return
        try:
            await self.adapter.answer_action(message.message_id)
        except Exception as exc:  # cosmetic: the press itself has been handled
            log.warning("could not answer Telegram button press %s: %s", message.message_id, exc)

    async def take_and_acknowledge(self, payload: dict) -> None:
        taken = await self.take(payload)
        if taken is not None:
            await self.acknowledge(*taken)

    async def on_start(self, adapter: TelegramAdapter) -> None:
        if self.settings.telegram_mode == "polling":
            adapter.start_polling()
            return
        if "public_url" not in self.settings.model_fields_set:
            log.info("Telegram webhook mode: LINLI_PUBLIC_URL is not set, so the webhook is not registered; "
                     "set it (https) or use LINLI_TELEGRAM_MODE=polling")
            return
        url = self.settings.public_url.rstrip("/") + WEBHOOK_PATH
        try:
            await adapter.set_webhook(url, self.secret)
            log.info("Telegram webhook set to %s", url)
        except Exception as exc:  # the service still runs; a webhook set earlier keeps working
            log.error("could not set the Telegram webhook to %s: %s", url, exc)

    async def webhook(self, headers: dict[str, str], body: bytes) -> Answer:
        """``POST /webhooks/telegram``, a fast route (served before FastAPI sees the request)."""
        given = headers.get(SECRET_HEADER.lower(), "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return Answer(403, {"detail": f"wrong or missing {SECRET_HEADER}"})
        try:
            payload = json_input.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Answer(400, {"detail": "body must be a JSON Telegram Update"})
        try:
            taken = await self.take(payload)
        except InboundError as exc:
            return Answer(exc.status, {"detail": str(exc)})
        if taken is None:
            return Answer(200, {"ok": True})
        # after the 200: Telegram waits for the response before it sends the next update
        return Answer(200, {"ok": True}, after=lambda: self.acknowledge(*taken))


def mount(host: Host) -> Wiring:
    """The webhook route (webhook mode, on the fast path) and the Telegram adapter."""
    channel = TelegramChannel(host)
    routes = [Route(WEBHOOK_PATH, channel.webhook, fast=True)] if host.settings.telegram_mode == "webhook" else []
    return Wiring([channel.adapter], routes, state={"telegram": channel})
