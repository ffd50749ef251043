"""WeCom self-built app (企业微信自建应用): grid workers talk to the app 1:1, and the app posts
to workers and to their app group chats (``appchat``, send-only, internal members only).

Inbound: encrypted XML callbacks (receive id = corp id). A message becomes platform ``wecom``,
``chat_id`` = the worker's userid, ``is_group`` False. Outbound: ``recipient_id`` set →
``message/send`` to that user; otherwise ``chat_id`` is an appchat id → ``appchat/send``.
The callback is answered with an empty 200; replies leave through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from adapters.base import ChannelAdapter, Delivered, DeliveryError
from adapters.wecom import CHANNEL, DEFAULT_API_BASE, PLATFORM
from adapters.wx_common import (
    AccessTokens,
    Envelope,
    TokenStore,
    build_message,
    check_fresh,
    check_size,
    edit_skipped,
    fetch_token,
    field,
    flat,
    http_client,
    now_seconds,
    parse_xml,
    post_with_token,
    sent_at_of,
    with_hints,
    xml_content,
)
from adapters.wx_media import WxMedia
from core.message import Message, OutgoingReply


@dataclass(frozen=True)
class WeComConfig:
    corp_id: str
    token: str
    aes_key: str
    agent_id: str | None = None
    secret: str | None = None
    api_base: str = DEFAULT_API_BASE


class WeComCallbacks:
    """Verification, decryption and parsing of the app's callbacks. Synchronous."""

    def __init__(self, config: WeComConfig, *, clock: Callable[[], float] = now_seconds):
        self.config = config
        self.clock = clock
        self.envelope = Envelope(config.token, config.aes_key, config.corp_id)

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET /webhooks/wecom: decrypt ``echostr`` and return its plaintext."""
        return self.envelope.verify_url(query, self.clock())

    def parse(self, query: Mapping[str, str], body: bytes) -> Message | None:
        """Verify and decrypt one callback; the message, or None for events and unsupported types."""
        check_size(body)
        check_fresh(query.get("timestamp"), self.clock())
        outer = parse_xml(body)
        doc = parse_xml(self.envelope.open(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""),
                                           field(outer, "Encrypt", required=True)))
        kind = field(doc, "MsgType", required=True).lower()
        content = xml_content(kind, doc)
        if content is None:
            return None  # events (enter_agent, …) and files: acknowledged, not stored
        userid = field(doc, "FromUserName", required=True)
        return build_message(
            platform=PLATFORM, chat_id=userid, sender_id=userid, is_group=False, addressed_to_bot=True,
            message_id=field(doc, "MsgId", required=True), sent_at=sent_at_of(field(doc, "CreateTime", required=True)),
            raw=flat(doc), **content,
        )


class WeComAdapter(ChannelAdapter):
    """Sends as the app: to one member (``message/send``) or to an app group chat (``appchat/send``)."""

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, config: WeComConfig, store: TokenStore):
        if not (config.secret and config.agent_id):
            raise ValueError("LINLI_WECOM_SECRET and LINLI_WECOM_AGENT_ID are needed to send WeCom messages")
        self.config = config
        self.agent_id: str = config.agent_id  # checked above: sending needs it
        self.client = http_client()
        self.tokens = AccessTokens(f"wecom:{config.corp_id}:{config.agent_id}", self._fetch_token, store)

    async def _fetch_token(self) -> tuple[str, int]:
        return await fetch_token(self.client, f"{self.config.api_base}/cgi-bin/gettoken",
                                 {"corpid": self.config.corp_id, "corpsecret": self.config.secret or ""})

    def media_fetcher(self, client: httpx.AsyncClient) -> WxMedia:
        """Images by MediaId (``media/get`` with this adapter's access token) or PicUrl."""
        return WxMedia(client, self.config.api_base, self.tokens.get, self.tokens.invalidate)

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        if skipped := edit_skipped(reply):
            return skipped
        text = {"content": with_hints(reply.text, reply.buttons)}
        if reply.recipient_id:
            payload = {"touser": reply.recipient_id, "msgtype": "text", "agentid": int(self.agent_id), "text": text}
            data = await post_with_token(self.client, self.tokens, f"{self.config.api_base}/cgi-bin/message/send",
                                         payload, "WeCom message/send")
            if data.get("invaliduser"):
                raise DeliveryError(f"WeCom user {data['invaliduser']} is not in the app's visible range", retryable=False)
            return Delivered(platform_message_id=data.get("msgid"))
        payload = {"chatid": reply.chat_id, "msgtype": "text", "text": text}
        await post_with_token(self.client, self.tokens, f"{self.config.api_base}/cgi-bin/appchat/send",
                              payload, "WeCom appchat/send")
        return Delivered()

    async def stop(self) -> None:
        await self.client.aclose()
