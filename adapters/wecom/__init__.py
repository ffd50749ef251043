"""WeCom self-built app (企业微信自建应用): grid workers talk to the app 1:1 and the app reaches them
directly. ``adapter`` verifies and parses the encrypted callbacks and sends as the app;
``channel`` serves ``GET|POST /webhooks/wecom``."""

from __future__ import annotations

from pydantic import BaseModel

from adapters import wx_media
from adapters.base import Capabilities, ChannelSpec, RateLimit

PLATFORM = "wecom"
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"


class WeComSettings(BaseModel):
    """LINLI_WECOM_*: corp id, token and AES key turn the channel on; secret and agent id let it send."""

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base: str | None = None


CHANNEL = ChannelSpec(
    name=PLATFORM, title="企业微信", module="adapters.wecom.channel", settings=WeComSettings,
    enabled=lambda s: bool(s.wecom_corp_id and s.wecom_token and s.wecom_aes_key),
    image_refs=wx_media.image_refs,  # an image message's MediaId
    # WeCom: an app may send a member at most 30 messages a minute.
    capabilities=Capabilities(one_to_one=True, rate_limit=RateLimit(per_chat_per_minute=30)),
    notices=lambda s, chat_id: bool(s.wecom_secret and s.wecom_agent_id),  # sending needs the app's secret
    setup="Create a self-built app, set its API receive URL to <LINLI_PUBLIC_URL>/webhooks/wecom, and set "
          "LINLI_WECOM_CORP_ID, LINLI_WECOM_TOKEN, LINLI_WECOM_AES_KEY, LINLI_WECOM_AGENT_ID, LINLI_WECOM_SECRET.",
)
