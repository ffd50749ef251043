"""WeCom group robot webhooks (群机器人), send-only: LINLI_WECOM_ROBOT_WEBHOOKS="name=url,…"."""

from __future__ import annotations

from pydantic import BaseModel

from adapters.base import Capabilities, ChannelSpec, RateLimit

PLATFORM = "wecom-robot"
PER_MINUTE = 20  # the platform allows 20 messages a minute per robot


class WeComRobotSettings(BaseModel):
    """LINLI_WECOM_ROBOT_WEBHOOKS: comma-separated name=url pairs."""

    wecom_robot_webhooks: str | None = None


def _robot_names(settings) -> set[str]:
    from adapters.wecom_robot.adapter import (
        parse_webhooks,  # only once the channel is configured
    )

    return set(parse_webhooks(settings.wecom_robot_webhooks))


CHANNEL = ChannelSpec(
    name=PLATFORM, title="企业微信群机器人", module="adapters.wecom_robot.channel", settings=WeComRobotSettings,
    enabled=lambda s: bool(s.wecom_robot_webhooks),
    capabilities=Capabilities(rate_limit=RateLimit(per_chat_per_minute=PER_MINUTE)),
    notices=lambda s, chat_id: chat_id in _robot_names(s),
    setup="Add a robot to a WeCom group (群设置 → 群机器人), and list it as name=webhook-url in "
          "LINLI_WECOM_ROBOT_WEBHOOKS; bind wecom-robot:<name> to a grid.",
)
