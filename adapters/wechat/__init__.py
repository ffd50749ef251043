"""WeChat Official Account (微信公众号): residents write to the account 1:1. ``adapter`` verifies and
parses the XML callbacks and sends through the customer-service API; ``channel`` serves
``GET|POST /webhooks/wechat``. wechatpy is imported only when the channel is configured."""

from __future__ import annotations

from pydantic import BaseModel

from adapters import wx_media
from adapters.base import Capabilities, ChannelSpec, RateLimit

PLATFORM = "wechat"


class WeChatSettings(BaseModel):
    """LINLI_WECHAT_*: token and app id turn the channel on; the app secret lets it send later updates."""

    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_api_base: str | None = None


CHANNEL = ChannelSpec(
    name=PLATFORM, title="微信公众号", module="adapters.wechat.channel", settings=WeChatSettings,
    enabled=lambda s: bool(s.wechat_token and s.wechat_app_id),
    image_refs=wx_media.image_refs,  # an image message's MediaId
    capabilities=Capabilities(rate_limit=RateLimit(global_per_second=20)),
    setup="In the Official Account's 基本配置 set the server URL to <LINLI_PUBLIC_URL>/webhooks/wechat, and set "
          "LINLI_WECHAT_TOKEN, LINLI_WECHAT_APP_ID (and LINLI_WECHAT_AES_KEY in safe mode, LINLI_WECHAT_APP_SECRET "
          "for later updates).",
)
