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
from starlette.concurrency import run_in_threadpool

from adapters.base import ChannelAdapter, InboundError
from adapters.wecom import DEFAULT_API_BASE, WeComAdapter, WeComCallbacks, WeComConfig
from bots.wx_wiring import add_url_verification, query_of, refused, token_store

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
    router = APIRouter()

    add_url_verification(router, PATH, callbacks.verify_url)

    @router.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            message = await run_in_threadpool(callbacks.parse, query_of(request), body)
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
