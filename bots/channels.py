"""Which channels run, and how each is wired into the app.

A channel module is imported only when its platform is configured, so an unused SDK
(aiogram, wechatpy) costs nothing at start-up. Each module exposes
``mount(app: FastAPI, runtime: Runtime) -> list[ChannelAdapter]``: it adds its webhook
routes and returns the adapters that deliver its replies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI

from config.settings import Settings
from core.message import split_chat_key


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    module: str
    enabled: Callable[[Settings], bool]
    # Whether the enabled channel can post a notice nobody asked for into chat ``chat_id``.
    notices: Callable[[Settings, str], bool] = lambda settings, chat_id: True


CHANNELS: list[ChannelSpec] = [
    ChannelSpec("playground", "adapters.playground.channel", lambda s: playground_mode(s) != "off"),
    ChannelSpec("telegram", "adapters.telegram.channel", lambda s: bool(s.telegram_token)),
    ChannelSpec("wechat", "adapters.wechat.channel", lambda s: bool(s.wechat_token and s.wechat_app_id)),
    ChannelSpec("wecom", "adapters.wecom.channel", lambda s: bool(s.wecom_corp_id and s.wecom_token and s.wecom_aes_key),
                lambda s, chat_id: bool(s.wecom_secret and s.wecom_agent_id)),  # sending needs the app's secret
    # The AI bot answers only through the response_url of a message someone sent it in the last hour.
    ChannelSpec("wecom-bot", "adapters.wecom_bot.channel", lambda s: bool(s.wecom_bot_token and s.wecom_bot_aes_key),
                lambda s, chat_id: False),
    ChannelSpec("wecom-robot", "adapters.wecom_robot.channel", lambda s: bool(s.wecom_robot_webhooks),
                lambda s, chat_id: chat_id in _robot_names(s)),
    # Answers reach a customer group through its owner (the grid worker), who posts them.
    ChannelSpec("wecom-archive", "adapters.wecom_archive.channel",
                lambda s: bool(s.wecom_archive_secret and s.wecom_archive_private_keys)),
]


def _robot_names(settings: Settings) -> set[str]:
    from adapters.wecom_robot.adapter import parse_webhooks  # only once the channel is configured

    return set(parse_webhooks(settings.wecom_robot_webhooks))


def real_channels(settings: Settings) -> list[str]:
    """The configured channels that reach real people (every one but the playground)."""
    return [c.name for c in CHANNELS if c.name != "playground" and c.enabled(settings)]


def playground_mode(settings: Settings) -> Literal["open", "signed-in", "off"]:
    """How the playground runs: ``open`` (anyone picks an identity) only while nothing real is
    configured; with a real channel it is off unless LINLI_PLAYGROUND=true, and then each post
    speaks as the signed-in console account's person (``signed-in``)."""
    if settings.playground is False:
        return "off"
    if not real_channels(settings):
        return "open"
    return "signed-in" if settings.playground else "off"


def enabled_channels(settings: Settings) -> list[ChannelSpec]:
    return [c for c in CHANNELS if c.enabled(settings)]


def notice_receiver(settings: Settings) -> Callable[[str], bool]:
    """``can_receive(chat_key)``: whether a configured channel can post a notice into that chat now
    (the playground when it is on, Telegram with a token, a named group robot …)."""
    specs = {c.name: c for c in enabled_channels(settings)}

    def can_receive(chat_key: str) -> bool:
        platform, chat_id = split_chat_key(chat_key)
        spec = specs.get(platform)
        return spec is not None and spec.notices(settings, chat_id)

    return can_receive


def mount_channels(app: FastAPI, runtime) -> list[str]:
    """Import and mount every configured channel; returns their names."""
    names = []
    for spec in enabled_channels(runtime.settings):
        module = importlib.import_module(spec.module)
        for adapter in module.mount(app, runtime):
            runtime.register(adapter)
        names.append(spec.name)
    return names
