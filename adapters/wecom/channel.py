"""Wires the WeCom self-built app: ``GET|POST /webhooks/wecom`` and the app's sender.

Imported only when LINLI_WECOM_CORP_ID, LINLI_WECOM_TOKEN and LINLI_WECOM_AES_KEY are set.
Grid workers write to the app 1:1 (commands such as 「办结 12 已修好」); the callback is
acknowledged at once and every reply leaves through the outbox (``message/send`` to a
person, ``appchat/send`` to an app group chat), which needs LINLI_WECOM_SECRET and
LINLI_WECOM_AGENT_ID.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from adapters.base import Host, InboundError, Route, Wiring
from adapters.wecom.adapter import DEFAULT_API_BASE, PLATFORM, WeComAdapter, WeComCallbacks, WeComConfig
from adapters.wx_http import refused, url_verification, verified

log = logging.getLogger("linli.wecom")

PATH = "/webhooks/wecom"


def config_of(settings) -> WeComConfig:
    return WeComConfig(
        corp_id=settings.wecom_corp_id, token=settings.wecom_token, aes_key=settings.wecom_aes_key,
        agent_id=settings.wecom_agent_id, secret=settings.wecom_secret,
        api_base=(settings.wecom_api_base or DEFAULT_API_BASE).rstrip("/"),
    )


def mount(host: Host) -> Wiring:
    config = config_of(host.settings)
    callbacks = WeComCallbacks(config)
    nonces = host.nonce_store()

    async def receive(request: Request) -> Response:
        try:
            _, message, _ = await verified(request, PLATFORM, callbacks.parse, nonces)
        except InboundError as exc:
            return refused(request, exc)
        if message is not None:
            await host.ingest(message, defer=False)  # WeChat-family channels process inline
        return PlainTextResponse("")

    routes = [url_verification(PATH, callbacks.verify_url), Route(PATH, receive)]
    if not (config.secret and config.agent_id):
        log.warning("LINLI_WECOM_SECRET / LINLI_WECOM_AGENT_ID not set: WeCom messages are received but nothing is sent")
        return Wiring(routes=routes)
    return Wiring([WeComAdapter(config, host.token_store())], routes)
