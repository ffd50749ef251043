"""Wires the WeCom self-built app: ``GET|POST /webhooks/wecom`` and the app's sender.

Imported only when LINLI_WECOM_CORP_ID, LINLI_WECOM_TOKEN and LINLI_WECOM_AES_KEY are set.
Grid workers write to the app 1:1 (commands such as 「办结 12 已修好」); the callback is
acknowledged at once and every reply leaves through the outbox (``message/send`` to a
person, ``appchat/send`` to an app group chat), which needs LINLI_WECOM_SECRET and
LINLI_WECOM_AGENT_ID.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from adapters.base import ChannelAdapter, InboundError
from adapters.wecom.adapter import DEFAULT_API_BASE, PLATFORM, WeComAdapter, WeComCallbacks, WeComConfig
from bots.wx_wiring import add_url_verification, nonce_store, refused, token_store, verified

log = logging.getLogger("linli.wecom")

PATH = "/webhooks/wecom"


def config_of(settings) -> WeComConfig:
    return WeComConfig(
        corp_id=settings.wecom_corp_id, token=settings.wecom_token, aes_key=settings.wecom_aes_key,
        agent_id=settings.wecom_agent_id, secret=settings.wecom_secret,
        api_base=(settings.wecom_api_base or DEFAULT_API_BASE).rstrip("/"),
    )


def mount(app: FastAPI, runtime) -> list[ChannelAdapter]:
    config = config_of(runtime.settings)
    callbacks = WeComCallbacks(config)
    nonces = nonce_store(runtime)
    router = APIRouter()

    add_url_verification(router, PATH, callbacks.verify_url)

    @router.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        try:
            _, message, _ = await verified(request, PLATFORM, callbacks.parse, nonces)
        except InboundError as exc:
            return refused(request, exc)
        if message is not None:
            await runtime.ingest(message, defer=False)  # WeChat-family channels process inline
        return PlainTextResponse("")

    app.include_router(router)
    if not (config.secret and config.agent_id):
        log.warning("LINLI_WECOM_SECRET / LINLI_WECOM_AGENT_ID not set: WeCom messages are received but nothing is sent")
        return []
    return [WeComAdapter(config, token_store(runtime))]
