"""WeChat Official Account (服务号): callbacks in safe (AES) mode, or plaintext when no AES key is set; passive replies,
and later messages through the customer-service API.

The account talks 1:1 with residents. Every chat is ``wechat:<app id>`` (one account, bound
to a default grid in the grids file); the resident's openid is the sender and, on replies,
``OutgoingReply.recipient_id``. Message ids follow WeChat's retry rule: ``MsgId`` for messages,
``FromUserName + CreateTime`` for events, so a retried callback is the same inbox row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from adapters.base import ChannelAdapter, Delivered, DeliveryError, MalformedPayload, SignatureError
from adapters.wechat import CHANNEL, PLATFORM
from adapters.wx_common import (
    AccessTokens,
    Envelope,
    TokenStore,
    build_message,
    cdata,
    check_fresh,
    check_signature,
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
    xml_content,
)
from adapters.wx_media import WxMedia
from core.message import Message, MessageKind, OutgoingReply

DEFAULT_API_BASE = "https://api.weixin.qq.com"
PASSIVE_REPLY_MAX_BYTES = 2000  # WeChat drops passive text replies much over 2 KB


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    app_id: str
    app_secret: str | None = None
    aes_key: str | None = None
    api_base: str = DEFAULT_API_BASE


@dataclass(frozen=True)
class Callback:
    """A verified callback: the message (None for events we ignore) and how to answer it."""

    message: Message | None
    openid: str
    account: str  # ToUserName, the account's original id (gh_…), needed as the reply's sender
    encrypted: bool


class WeChatOfficialAccount:
    """Verification and parsing of the account's callbacks. Synchronous: run it off the event loop."""

    def __init__(self, config: WeChatConfig, *, clock: Callable[[], float] = now_seconds):
        self.config = config
        self.clock = clock
        self.envelope = Envelope(config.token, config.aes_key, config.app_id) if config.aes_key else None

    def _check_plain_signature(self, query: Mapping[str, str]) -> None:
        check_fresh(query.get("timestamp"), self.clock())
        check_signature(query.get("signature"), self.config.token, query.get("timestamp", ""), query.get("nonce", ""))

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET /webhooks/wechat: the echostr to send back, after the signature check."""
        self._check_plain_signature(query)
        echostr = query.get("echostr", "")
        if not echostr:
            raise MalformedPayload("echostr is missing")
        return echostr

    def parse(self, query: Mapping[str, str], body: bytes) -> Callback:
        """Verify and parse one POSTed callback (``encrypt_type=aes``, or plaintext when no AES key is set).

        With an EncodingAESKey configured only safe-mode callbacks are accepted: the plaintext
        ``signature`` covers token, timestamp and nonce but not the body, so anyone who saw one
        callback's query string could post any body, as any openid, with it for five minutes.
        """
        check_size(body)
        self._check_plain_signature(query)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if self.envelope is not None and not encrypted:
            raise SignatureError("plaintext callback refused: LINLI_WECHAT_AES_KEY is set, so only safe-mode "
                                 "(encrypt_type=aes) callbacks are accepted; set 消息加解密方式 to 安全模式 on the platform")
        doc = parse_xml(body)
        if encrypted:
            if self.envelope is None:
                raise SignatureError("encrypted callback but LINLI_WECHAT_AES_KEY is not set")
            inner = self.envelope.open(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""),
                                       field(doc, "Encrypt", required=True))
            doc = parse_xml(inner)
        openid = field(doc, "FromUserName", required=True)
        return Callback(self.to_message(doc), openid, field(doc, "ToUserName"), encrypted)

    def to_message(self, doc: dict) -> Message | None:
        """The normalised message for text, voice, image, location and subscribe; None otherwise."""
        kind = field(doc, "MsgType", required=True).lower()
        openid = field(doc, "FromUserName", required=True)
        created = field(doc, "CreateTime", required=True)
        base = dict(platform=PLATFORM, chat_id=self.config.app_id, sender_id=openid, is_group=False,
                    addressed_to_bot=True, sent_at=sent_at_of(created), raw=flat(doc))
        if kind == "event":
            event = field(doc, "Event").lower()
            if event not in ("subscribe", "unsubscribe"):
                return None
            scene = field(doc, "EventKey")
            return build_message(**base, kind=MessageKind.EVENT, event=event, message_id=f"{openid}:{created}",
                                 event_data={"scene": scene} if scene else {})
        content = xml_content(kind, doc)
        if content is None:
            return None  # video, link, shortvideo…: answered with success, stored nowhere
        return build_message(**base, message_id=field(doc, "MsgId", required=True), **content)

    def passive_reply(self, callback: Callback, text: str, *, timestamp: str, nonce: str) -> str:
        """The XML answer to a callback: a text reply to the resident, encrypted in safe mode."""
        text = _clip(text, PASSIVE_REPLY_MAX_BYTES)
        xml = (
            f"<xml><ToUserName>{cdata(callback.openid)}</ToUserName><FromUserName>{cdata(callback.account)}</FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType>{cdata('text')}</MsgType><Content>{cdata(text)}</Content></xml>"
        )
        if callback.encrypted and self.envelope is not None:
            return self.envelope.seal_xml(xml, timestamp, nonce)
        return xml


def _clip(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


class WeChatAdapter(ChannelAdapter):
    """Sends later messages (status updates) through the customer-service message API.

    Errcode 45015 (the resident has not written for 48 hours) raises RecipientUnreachable:
    not retried, and the runtime tells the ticket's grid worker instead.
    """

    platform = PLATFORM
    rate_limit = CHANNEL.capabilities.rate_limit
    direct_messages = CHANNEL.capabilities.one_to_one

    def __init__(self, config: WeChatConfig, store: TokenStore):
        if not config.app_secret:
            raise ValueError("LINLI_WECHAT_APP_SECRET is needed to send status updates through the customer-service API")
        self.config = config
        self.client = http_client()
        self.tokens = AccessTokens(f"wechat:{config.app_id}", self._fetch_token, store)

    async def _fetch_token(self) -> tuple[str, int]:
        return await fetch_token(self.client, f"{self.config.api_base}/cgi-bin/token", {
            "grant_type": "client_credential", "appid": self.config.app_id, "secret": self.config.app_secret or ""})

    def media_fetcher(self, client: httpx.AsyncClient) -> WxMedia:
        """Images by MediaId (``media/get`` with this adapter's access token) or PicUrl."""
        return WxMedia(client, self.config.api_base, self.tokens.get, self.tokens.invalidate)

    async def deliver(self, reply: OutgoingReply) -> Delivered:
        if skipped := edit_skipped(reply):
            return skipped
        if not reply.recipient_id:
            raise DeliveryError("a WeChat Official Account reply needs recipient_id (the resident's openid)", retryable=False)
        payload = {"touser": reply.recipient_id, "msgtype": "text", "text": {"content": reply.text}}
        await post_with_token(self.client, self.tokens, f"{self.config.api_base}/cgi-bin/message/custom/send",
                              payload, "customer-service message")
        return Delivered()

    async def stop(self) -> None:
        await self.client.aclose()

