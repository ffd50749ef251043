"""Wires the WeCom AI bot: ``GET|POST /webhooks/wecom-bot`` and its response_url sender.

Imported only when LINLI_WECOM_BOT_TOKEN and LINLI_WECOM_BOT_AES_KEY are set. An @-mention in
a group is answered in the same HTTP response with encrypted JSON: a finished stream message
(or a template card with 确认/驳回 buttons when the reply has buttons). Each callback's
response_url is kept for an hour so later replies to that chat can use it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from adapters.base import Host, InboundError, Route, Wiring
from adapters.wecom_bot.adapter import PLATFORM, RESPONSE_URL_TTL, WeComBotAdapter, WeComBotCallbacks, reply_payload, reply_url_key
from adapters.wx_common import new_nonce
from adapters.wx_http import refused, url_verification, verified

PATH = "/webhooks/wecom-bot"


def mount(host: Host) -> Wiring:
    """Callback mode; LINLI_WECOM_BOT_MODE=websocket wires the long connection instead."""
    settings = host.settings
    if settings.wecom_bot_mode == "websocket":
        from adapters.wecom_bot.websocket import mount_websocket

        return mount_websocket(host)
    callbacks = WeComBotCallbacks(settings.wecom_bot_token, settings.wecom_bot_aes_key)
    urls = host.database_store()  # response_urls are taken once: always the shared database
    nonces = host.nonce_store()

    async def receive(request: Request) -> Response:
        try:
            query, (callback, message), repeated = await verified(request, PLATFORM, callbacks.parse, nonces)
        except InboundError as exc:
            return refused(request, exc)
        if callback.response_url and not repeated:  # a repeat must not bring back a response_url already used
            await run_in_threadpool(urls.remember, reply_url_key(callback.chat_id, callback.msgid),
                                    callback.response_url, RESPONSE_URL_TTL)
        if message is None:
            return PlainTextResponse("")
        replies = await host.answer_inline(message)
        if not replies:
            return PlainTextResponse("")  # an empty answer: nothing is shown
        payload = reply_payload("\n\n".join(r.text for r in replies), [row for r in replies for row in r.buttons])
        sealed = await run_in_threadpool(callbacks.seal, payload, query.get("nonce") or new_nonce())
        return JSONResponse(sealed)

    return Wiring([WeComBotAdapter(urls, aes_key=settings.wecom_bot_aes_key)],
                  [url_verification(PATH, callbacks.verify_url), Route(PATH, receive)])
