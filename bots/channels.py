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

from fastapi import FastAPI

from config.settings import Settings


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    module: str
    enabled: Callable[[Settings], bool]


CHANNELS: list[ChannelSpec] = [
    ChannelSpec("playground", "bots.channel_playground", lambda s: s.playground),
    ChannelSpec("telegram", "bots.channel_telegram", lambda s: bool(s.telegram_token)),
    ChannelSpec("wechat", "bots.channel_wechat", lambda s: bool(s.wechat_token and s.wechat_app_id)),
    ChannelSpec("wecom", "bots.channel_wecom", lambda s: bool(s.wecom_corp_id and s.wecom_token and s.wecom_aes_key)),
    ChannelSpec("wecom-bot", "bots.channel_wecom_bot", lambda s: bool(s.wecom_bot_token and s.wecom_bot_aes_key)),
    ChannelSpec("wecom-robot", "bots.channel_wecom_robot", lambda s: bool(s.wecom_robot_webhooks)),
    ChannelSpec("wecom-archive", "bots.channel_wecom_archive",
                lambda s: bool(s.wecom_archive_secret and s.wecom_archive_private_keys)),
]


def enabled_channels(settings: Settings) -> list[ChannelSpec]:
    return [c for c in CHANNELS if c.enabled(settings)]


def mount_channels(app: FastAPI, runtime) -> list[str]:
    """Import and mount every configured channel; returns their names."""
    names = []
    for spec in enabled_channels(runtime.settings):
        module = importlib.import_module(spec.module)
        for adapter in module.mount(app, runtime):
            runtime.register(adapter)
        names.append(spec.name)
    return names
