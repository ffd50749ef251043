"""Wires the WeChat Official Account: ``GET|POST /webhooks/wechat`` and the customer-service sender.

Imported only when LINLI_WECHAT_TOKEN and LINLI_WECHAT_APP_ID are set, so wechatpy is never
loaded otherwise. A complaint is answered inside WeChat's 5-second window with a passive
reply carrying the ticket number; chatter gets ``success`` (WeChat shows nothing); later
status updates go out through the customer-service API (needs LINLI_WECHAT_APP_SECRET).
"""

from __future__ import annotations

import logging
import time

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.base import Host, InboundError, Route, Wiring
from adapters.wechat.adapter import DEFAULT_API_BASE, PLATFORM, WeChatAdapter, WeChatConfig, WeChatOfficialAccount
from adapters.wx_common import new_nonce
from adapters.wx_http import refused, url_verification, verified
from core.message import MessageKind

log = logging.getLogger("linli.wechat")

PATH = "/webhooks/wechat"
SUCCESS = "success"  # WeChat's "received, no reply"


def config_of(settings) -> WeChatConfig:
    return WeChatConfig(
        token=settings.wechat_token, app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret,
        aes_key=settings.wechat_aes_key or None, api_base=(settings.wechat_api_base or DEFAULT_API_BASE).rstrip("/"),
    )


def mount(host: Host) -> Wiring:
    config = config_of(host.settings)
    account = WeChatOfficialAccount(config)
    nonces = host.nonce_store()

    async def receive(request: Request) -> Response:
        try:
            _, callback, _ = await verified(request, PLATFORM, account.parse, nonces)
        except InboundError as exc:
            return refused(request, exc)
        message = callback.message
        if message is None:
            return PlainTextResponse(SUCCESS)
        if message.kind is MessageKind.EVENT:
            await host.ingest(message, defer=False)  # kept for the record; the bot does not answer events
            if message.event != "subscribe":
                return PlainTextResponse(SUCCESS)
            texts = [host.render("wechat_welcome")]
        else:
            texts = [reply.text for reply in await host.answer_inline(message)]
        if not texts:
            return PlainTextResponse(SUCCESS)
        xml = await run_in_threadpool(account.passive_reply, callback, "\n\n".join(texts),
                                      timestamp=str(int(time.time())), nonce=new_nonce())
        return Response(xml, media_type="application/xml")

    routes = [url_verification(PATH, account.verify_url), Route(PATH, receive)]
    if not config.app_secret:
        log.warning("LINLI_WECHAT_APP_SECRET is not set: only passive replies reach residents, no later updates")
        return Wiring(routes=routes)
    return Wiring([WeChatAdapter(config, host.token_store())], routes)
