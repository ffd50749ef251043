"""Wires the WeChat Official Account: ``GET|POST /webhooks/wechat`` and the customer-service sender.

Imported only when LINLI_WECHAT_TOKEN and LINLI_WECHAT_APP_ID are set, so wechatpy is never
loaded otherwise. A complaint is answered inside WeChat's 5-second window with a passive
reply carrying the ticket number; chatter gets ``success`` (WeChat shows nothing); later
status updates go out through the customer-service API (needs LINLI_WECHAT_APP_SECRET).
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter, InboundError
from adapters.wechat.adapter import DEFAULT_API_BASE, PLATFORM, WeChatAdapter, WeChatConfig, WeChatOfficialAccount
from adapters.wx_common import new_nonce
from bots.wx_wiring import add_url_verification, answer_inline, nonce_store, refused, token_store, verified
from core.message import MessageKind

log = logging.getLogger("linli.wechat")

PATH = "/webhooks/wechat"
SUCCESS = "success"  # WeChat's "received, no reply"


def config_of(settings) -> WeChatConfig:
    return WeChatConfig(
        token=settings.wechat_token, app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret,
        aes_key=settings.wechat_aes_key or None, api_base=(settings.wechat_api_base or DEFAULT_API_BASE).rstrip("/"),
    )


def mount(app: FastAPI, runtime) -> list[ChannelAdapter]:
    config = config_of(runtime.settings)
    account = WeChatOfficialAccount(config)
    nonces = nonce_store(runtime)
    router = APIRouter()

    add_url_verification(router, PATH, account.verify_url)

    @router.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        try:
            _, callback, _ = await verified(request, PLATFORM, account.parse, nonces)
        except InboundError as exc:
            return refused(request, exc)
        message = callback.message
        if message is None:
            return PlainTextResponse(SUCCESS)
        if message.kind is MessageKind.EVENT:
            await runtime.ingest(message, defer=False)  # kept for the record; the bot does not answer events
            if message.event != "subscribe":
                return PlainTextResponse(SUCCESS)
            texts = [runtime.templates.render("wechat_welcome")]
        else:
            texts = [reply.text for reply in await answer_inline(runtime, message)]
        if not texts:
            return PlainTextResponse(SUCCESS)
        xml = await run_in_threadpool(account.passive_reply, callback, "\n\n".join(texts),
                                      timestamp=str(int(time.time())), nonce=new_nonce())
        return Response(xml, media_type="application/xml")

    app.include_router(router)
    if not config.app_secret:
        log.warning("LINLI_WECHAT_APP_SECRET is not set: only passive replies reach residents, no later updates")
        return []
    return [WeChatAdapter(config, token_store(runtime))]
