"""Telegram: a bot in residents' groups (aiogram). ``adapter`` parses Updates and sends through the
Bot API; ``channel`` serves the webhook (on the fast path) or polls. aiogram is imported only
when LINLI_TELEGRAM_TOKEN is set."""

from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.base import Capabilities, ChannelSpec, RateLimit
from adapters.telegram.media import image_refs

PLATFORM = "telegram"


class TelegramSettings(BaseModel):
    """LINLI_TELEGRAM_*: the bot token turns the channel on."""

    telegram_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base: str | None = None
    telegram_mode: str = Field("webhook", pattern="^(webhook|polling)$")


CHANNEL = ChannelSpec(
    name=PLATFORM, title="Telegram", module="adapters.telegram.channel", settings=TelegramSettings,
    enabled=lambda s: bool(s.telegram_token),
    image_refs=image_refs,  # the photo sizes and image documents in the Update
    # Telegram's documented limits: about 20 messages a minute in one group, 30 a second overall.
    capabilities=Capabilities(edit=True, buttons=True, threads=True,
                              rate_limit=RateLimit(per_chat_per_minute=20, global_per_second=30)),
    setup="Create a bot with @BotFather, set LINLI_TELEGRAM_TOKEN; with LINLI_PUBLIC_URL (https) the webhook "
          "is registered at /webhooks/telegram, else set LINLI_TELEGRAM_MODE=polling.",
)
