"""Wires WeCom group robot webhooks (send-only): LINLI_WECOM_ROBOT_WEBHOOKS="name=url,…".

Bind a robot's chat ``wecom-robot:<name>`` to a grid in the grids file to have the bot post
there (announcements, reminders); nothing is ever received from these groups.
"""

from __future__ import annotations

from adapters.base import Host, Wiring
from adapters.wecom_robot.adapter import WeComRobotAdapter, parse_webhooks


def mount(host: Host) -> Wiring:
    return Wiring([WeComRobotAdapter(parse_webhooks(host.settings.wecom_robot_webhooks))])
