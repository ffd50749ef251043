"""WeCom group robot webhooks (群机器人): send-only notifications to any WeCom group.

For groups where the bot cannot listen. Each robot has a name and its webhook URL
(``LINLI_WECOM_ROBOT_WEBHOOKS="name=url,name2=url2"``); its chats are ``wecom-robot:<name>``.
The platform allows 20 messages a minute per robot: ``rate_limit`` tells the outbox, which
spreads a burst over the following minutes (across all instances).
"""

from __future__ import annotations

from urllib.parse import urlparse

from adapters.base import ChannelAdapter, Delivered, DeliveryError
from adapters.wecom_robot import CHANNEL, PLATFORM
from adapters.wx_common import call_json, edit_skipped, http_client, raise_for_errcode, with_hints
from core.message import OutgoingReply


def parse_webhooks(spec: str | None) -> dict[str, str]:
    """``"name=url,name2=url2"`` → ``{name: url}``; ValueError names the entry that is wrong."""
    robots: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in (spec or "").split(","))):
        name, sep, url = entry.partition("=")
        name, url = name.strip(), url.strip()
        parsed = urlparse(url)
        if not sep or not name or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"LINLI_WECOM_ROBOT_WEBHOOKS entry {entry!r} must be name=https://…webhook/send?key=…")
        if name in robots:
            raise ValueError(f"LINLI_WECOM_ROBOT_WEBHOOKS names robot {name!r} twice")
        robots[name] = url
    return robots


class WeComRobotAdapter(ChannelAdapter):
    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, webhooks: dict[str, str]):
        self.webhooks = webhooks
        self.client = http_client()

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        if skipped := edit_skipped(reply):
            return skipped
        url = self.webhooks.get(reply.chat_id)
        if url is None:
            raise DeliveryError(f"no group robot named {reply.chat_id!r} in LINLI_WECOM_ROBOT_WEBHOOKS", retryable=False)
        payload = {"msgtype": "text", "text": {"content": with_hints(reply.text, reply.buttons)}}
        data = await call_json(self.client, "POST", url, json=payload)
        raise_for_errcode(data, f"group robot {reply.chat_id}")
        return Delivered()

    async def stop(self) -> None:
        await self.client.aclose()
