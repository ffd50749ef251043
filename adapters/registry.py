"""The channels linli knows, one line each. Adding a platform: a new package under ``adapters/``
that declares its :class:`~adapters.base.ChannelSpec` as ``CHANNEL``, plus one line below.

Importing this imports each platform's ``__init__`` only (settings and capabilities, no SDK);
a platform's ``channel`` module is imported when it is configured (``ChannelSpec.mount``).
Nothing outside ``adapters/`` imports a platform package: it goes through this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from adapters import (
    playground,
    telegram,
    wechat,
    wecom,
    wecom_archive,
    wecom_bot,
    wecom_robot,
)
from adapters.base import ChannelSpec
from adapters.media import attached_images
from core.message import Message, split_chat_key

CHANNELS: tuple[ChannelSpec, ...] = (
    playground.CHANNEL,
    telegram.CHANNEL,
    wechat.CHANNEL,
    wecom.CHANNEL,
    wecom_bot.CHANNEL,
    wecom_robot.CHANNEL,
    wecom_archive.CHANNEL,
)

PLAYGROUND = playground.PLATFORM


def settings_models() -> tuple[type, ...]:
    """Each channel's settings model, for config.settings.Settings to compose."""
    return tuple(c.settings for c in CHANNELS)


def spec(name: str) -> ChannelSpec | None:
    return next((c for c in CHANNELS if c.name == name), None)


def image_refs(message: Message, max_bytes: int) -> list[str]:
    """The references of the images in ``message``, in the order they were sent, as its channel reads
    them (``ChannelSpec.image_refs``); a platform that is no channel: its image attachments."""
    found = spec(message.platform)
    return (found.image_refs if found else attached_images)(message, max_bytes)


def title(name: str) -> str:
    """How people call a platform (企业微信 …), or its name when it is not a channel."""
    found = spec(name)
    return found.title if found else name


def real_channels(settings: Any) -> list[str]:
    """The configured channels that reach real people (every one but the playground)."""
    return [c.name for c in CHANNELS if c.name != PLAYGROUND and c.enabled(settings)]


def playground_mode(settings: Any) -> Literal["open", "signed-in", "off"]:
    """How the playground runs: ``open`` (anyone picks an identity) only while nothing real is
    configured; with a real channel it is off unless LINLI_PLAYGROUND=true, and then each post
    speaks as the signed-in console account's person (``signed-in``)."""
    if settings.playground is False:
        return "off"
    if not real_channels(settings):
        return "open"
    return "signed-in" if settings.playground else "off"


def enabled_channels(settings: Any) -> list[ChannelSpec]:
    return [c for c in CHANNELS if c.enabled(settings)]


def notice_receiver(settings: Any) -> Callable[[str], bool]:
    """``can_receive(chat_key)``: whether a configured channel can post a notice into that chat now
    (the playground when it is on, Telegram with a token, a named group robot …)."""
    specs = {c.name: c for c in enabled_channels(settings)}

    def can_receive(chat_key: str) -> bool:
        platform, chat_id = split_chat_key(chat_key)
        found = specs.get(platform)
        return found is not None and found.notices(settings, chat_id)

    return can_receive
