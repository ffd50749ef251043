"""WeCom AI bot (企业微信智能机器人): hears @-mentions in group chats and 1:1 messages.

Two ways to receive, chosen by LINLI_WECOM_BOT_MODE:

- ``callback`` (default): WeCom POSTs encrypted callbacks to ``/webhooks/wecom-bot`` (a public
  HTTPS address, Token and EncodingAESKey); answers go in the HTTP response, later ones through
  the callback's response_url (``adapter``, ``channel``).
- ``websocket`` (长连接): the bot opens a WebSocket to WeCom and subscribes with its bot id and
  secret; no public address and no callback encryption. Exactly one instance holds the
  connection (a database lock); answers and later messages go back over it (``websocket``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.base import Capabilities, ChannelSpec, RateLimit

PLATFORM = "wecom-bot"
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


class WeComBotSettings(BaseModel):
    """LINLI_WECOM_BOT_*: callback mode needs token and AES key; websocket mode the bot id and secret."""

    wecom_bot_mode: str = Field("callback", pattern="^(callback|websocket)$")
    wecom_bot_token: str | None = None
    wecom_bot_aes_key: str | None = None
    wecom_bot_id: str | None = None
    wecom_bot_secret: str | None = None
    wecom_bot_ws_url: str = DEFAULT_WS_URL
    wecom_bot_heartbeat_seconds: float = Field(30.0, gt=0)


def enabled(settings) -> bool:
    if settings.wecom_bot_mode == "websocket":
        return bool(settings.wecom_bot_id and settings.wecom_bot_secret)
    return bool(settings.wecom_bot_token and settings.wecom_bot_aes_key)


CHANNEL = ChannelSpec(
    name=PLATFORM, title="企业微信群", module="adapters.wecom_bot.channel", settings=WeComBotSettings,
    enabled=enabled,
    capabilities=Capabilities(buttons=True, rate_limit=RateLimit(per_chat_per_minute=20)),
    # Callback mode answers only through the response_url of a message someone sent it in the last
    # hour; over the long connection the bot may push to any chat it is in (aibot_send_msg).
    notices=lambda s, chat_id: s.wecom_bot_mode == "websocket",
    setup="Create an AI bot (智能机器人) in the WeCom admin console. Callback mode: set its URL to "
          "<LINLI_PUBLIC_URL>/webhooks/wecom-bot and LINLI_WECOM_BOT_TOKEN, LINLI_WECOM_BOT_AES_KEY. Long "
          "connection (no public address): choose API mode 长连接, set LINLI_WECOM_BOT_MODE=websocket, "
          "LINLI_WECOM_BOT_ID and LINLI_WECOM_BOT_SECRET.",
)
