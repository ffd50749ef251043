"""The web playground: a page at /playground where anyone (or a signed-in console account) talks to
the bot as a resident would. ``adapter`` parses posts and "delivers" by leaving replies in the
outbox for the page to read; ``channel`` asks the host for the page."""

from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.base import ChannelSpec

PLATFORM = "playground"


class PlaygroundSettings(BaseModel):
    """LINLI_PLAYGROUND*: None (unset) is on exactly when no real channel is configured."""

    # None: on exactly when no real channel (Telegram, WeChat, WeCom) is configured, open to anyone;
    # true with a real channel configured: on, but only for signed-in console accounts.
    playground: bool | None = None
    playground_posts_per_minute: int = Field(30, ge=0)  # per client address; 0: no limit
    playground_room_posts_per_minute: int = Field(120, ge=0)  # per room; 0: no limit


def _enabled(settings) -> bool:
    from adapters.registry import playground_mode

    return playground_mode(settings) != "off"


CHANNEL = ChannelSpec(
    name=PLATFORM, title="体验页", module="adapters.playground.channel", settings=PlaygroundSettings,
    enabled=_enabled, setup="Nothing to set up: open /playground (LINLI_PLAYGROUND=true keeps it on beside a real "
                            "channel, for signed-in console accounts).",
)
