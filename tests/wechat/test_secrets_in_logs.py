"""No configured secret, access token or signed webhook query string reaches a log line.

The big test runs linli the way ``linli serve --log-level debug`` does (its log set-up, uvicorn
with the access log, DEBUG for every library) against the fake WeChat/WeCom API and the fake
Telegram Bot API over real sockets, drives every channel in and out, and scans everything any
handler wrote: stderr and stdout (captured at the file descriptors) and a plain handler added
after start-up.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import httpx
import pytest
from sqlmodel import Session

from bots.app import create_app
from bots.logs import configure
from core import outbox
from core.message import OutgoingReply
from tests.telegram.conftest import GROUP, FakeBotAPI, Updates
from tests.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.telegram.conftest import TOKEN as TELEGRAM_TOKEN

from .conftest import BOT_AES_KEY, BOT_TOKEN, OA_AES_KEY, OA_TOKEN, WECOM_AES_KEY, WECOM_TOKEN, Platform

COMPLAINT = "楼道的灯坏了好几天了，晚上很黑"
LIBRARIES = ("httpx", "httpcore", "aiohttp", "aiogram", "uvicorn", "uvicorn.error", "uvicorn.access", "wechatpy",
             "linli", "asyncio", "starlette", "fastapi")
SECRETS = {
    "LINLI_SECRET_KEY": "linli-secret-key-0f9e8d7c6b5a",
    "LINLI_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
    "LINLI_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
    "LINLI_WECHAT_TOKEN": OA_TOKEN,
    "LINLI_WECHAT_APP_SECRET": "oa-app-secret-5f4e3d2c",
    "LINLI_WECHAT_AES_KEY": OA_AES_KEY,
    "LINLI_WECOM_SECRET": "wecom-corp-secret-a1b2c3d4",
    "LINLI_WECOM_TOKEN": WECOM_TOKEN,
    "LINLI_WECOM_AES_KEY": WECOM_AES_KEY,
    "LINLI_WECOM_BOT_TOKEN": BOT_TOKEN,
    "LINLI_WECOM_BOT_AES_KEY": BOT_AES_KEY,
    "robot webhook key": "693a91f6-7f2e-4bc4-97a0-0ec2f1a5aaa7",
}
WEBHOOK_QUERY = re.compile(r"(?:signature|msg_signature|timestamp|nonce|echostr|openid|encrypt_type)=")


@pytest.fixture
def debug_logging():
    """What ``linli serve --log-level debug`` sets up, undone afterwards (pytest's own handlers stay)."""
    root = logging.getLogger()
    names = ("", *LIBRARIES, "sqlalchemy")
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
             for name in names}
    before = set(root.handlers)

    def start() -> dict:
        log_config = configure("text", "debug")
        for name in LIBRARIES:
            logging.getLogger(name).setLevel(logging.DEBUG)
        return log_config

    yield start
    for handler in set(root.handlers) - before:
        root.removeHandler(handler)
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if name:
            logger.handlers[:], logger.propagate = handlers, propagate


async def eventually(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    """Wait (bounded) for background work in the server threads: the outbox and inbox workers."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(0.05)


def _enqueue(app, reply: OutgoingReply, key: str) -> None:
    with Session(app.state.runtime.engine) as session:
        outbox.enqueue(session, reply, dedup_key=key)
        session.commit()


@pytest.mark.sqlite_only
async def test_every_channel_at_debug_level_logs_no_secret_and_no_webhook_query(
        wx_settings, fake, serve_app, unused_port, capfd, debug_logging):
    telegram = FakeBotAPI()
    with serve_app(telegram.app()) as telegram_server:  # started first: uvicorn.Config resets uvicorn's loggers
        telegram.url = telegram_server.url
        log_config = debug_logging()
        settings = wx_settings.model_copy(update={
            "secret_key": SECRETS["LINLI_SECRET_KEY"], "wechat_app_secret": SECRETS["LINLI_WECHAT_APP_SECRET"],
            "wecom_secret": SECRETS["LINLI_WECOM_SECRET"],
            "wecom_robot_webhooks": f"notices={fake.base_url}/robot/notices?key={SECRETS['robot webhook key']}",
            "telegram_token": TELEGRAM_TOKEN, "telegram_webhook_secret": TELEGRAM_SECRET,
            "telegram_api_base": telegram.url, "telegram_mode": "webhook", "public_url": f"http://127.0.0.1:{unused_port}",
            "run_outbox": True, "outbox_poll_seconds": 0.05,
        })
        app = create_app(settings)
        late = io.StringIO()  # a plain handler added after start-up sees only redacted records too
        late_handler = logging.StreamHandler(late)
        late_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        logging.getLogger().addHandler(late_handler)
        with serve_app(app, port=unused_port, log_config=log_config, log_level="debug") as linli:
            async with httpx.AsyncClient(base_url=linli.url, timeout=10) as http:
                await _drive_every_channel(Platform(http), http, app, fake, telegram)
        logging.getLogger().removeHandler(late_handler)
    captured = capfd.readouterr()
    text = captured.out + captured.err + late.getvalue()

    # the scan is not vacuous: platform calls, webhook hits and library DEBUG lines were all logged
    for expected in ("/cgi-bin/gettoken", "/cgi-bin/token", "/robot/notices", "sendMessage", "httpcore",
                     '"POST /webhooks/wechat?', '"POST /webhooks/telegram HTTP/1.1" 200'):
        assert expected in text, f"{expected!r} was not logged"
    leaks = {name: found for name, value in SECRETS.items()
             for found in (value, quote(value, safe=""), quote_plus(value)) if found in text}  # URLs carry them encoded
    leaks |= {f"issued access token {t}": t for t in fake.issued if re.search(rf"\b{re.escape(t)}\b", text)}
    lines = [line for line in text.splitlines() if any(v in line for v in leaks.values()) or WEBHOOK_QUERY.search(line)]
    assert not leaks and not lines, f"secrets in the log: {sorted(leaks)}\n" + "\n".join(line[:300] for line in lines[:15])


async def _drive_every_channel(wx: Platform, http: httpx.AsyncClient, app, fake, telegram: FakeBotAPI) -> None:
    # Official Account: URL check, a safe-mode complaint answered passively, a refused forgery
    assert (await http.get("/webhooks/wechat", params={**wx.oa_query(), "echostr": "echo-1"})).text == "echo-1"
    # (the answer is passive, or "success" when the outbox worker took the reply first and sends it later)
    assert (await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))).status_code == 200
    assert (await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()), signature="0" * 40)).status_code == 403
    # WeCom app: the grid worker confirms and resolves; the resident hears through the customer-service API
    for command in ("确认 1", "办结 1 灯已更换"):
        assert (await wx.wecom_post(wx.wecom_text("chenshuji", command, wx.new_msg_id()))).status_code == 200
    await eventually("customer-service messages", lambda: len(fake.sent("custom/send")) >= 2)
    await eventually("WeCom message/send", lambda: fake.sent("/cgi-bin/message/send"))
    # a revoked token is refreshed (the 40001 path logs too)
    fake.revoke_tokens()
    _enqueue(app, OutgoingReply(platform="wecom", chat_id="chenshuji", recipient_id="chenshuji", text="提醒"), "revoked")
    await eventually("a send with a refreshed token", lambda: len(fake.sent("/cgi-bin/gettoken")) >= 2
                     and any(c["json"]["text"]["content"] == "提醒" for c in fake.sent("/cgi-bin/message/send")))
    # WeCom AI bot: a group @-mention answered inline, then a later reply through its response_url
    mention = wx.group_mention("zhangsan", "小区门口的垃圾桶满了", wx.new_msg_id(), fake_base=fake.base_url)
    assert (await wx.bot_post(mention)).status_code == 200
    _enqueue(app, OutgoingReply(platform="wecom-bot", chat_id=wx.bot_group, text="稍后回复"), "bot-later")
    await eventually("a response_url post", lambda: fake.sent(f"/response/{mention['msgid']}"))
    # WeCom group robot webhook (its key is in the URL)
    _enqueue(app, OutgoingReply(platform="wecom-robot", chat_id="notices", text="停水通知"), "robot")
    await eventually("a group robot post", lambda: fake.sent("/robot/notices"))
    # Telegram: the webhook was registered at start; an update in, a reply out; a wrong secret refused
    await eventually("setWebhook", lambda: telegram.called("setWebhook"))
    update = Updates().text(COMPLAINT, chat_id=GROUP)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert (await http.post("/webhooks/telegram", json=update, headers=headers)).status_code == 200
    assert (await http.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"})).status_code == 403
    await eventually("a Telegram reply", lambda: telegram.sent())


# -- the redaction itself ---------------------------------------------------------------------


@pytest.mark.parametrize("line,kept", [
    ("GET https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww01&corpsecret=S3cr3tValue", "corpid=ww01&corpsecret="),
    ("POST https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=ACCESS.tok-en_1", "custom/send?access_token="),
    ("GET https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3cr3tValue", "appid=wx1&secret="),
    ("POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-S3cr3tValue", "webhook/send?key="),
    ("POST https://api.telegram.org/bot987654321:S3cr3tValue-abcdefghijklmnopqrstuvw/sendMessage", "/bot[redacted]/sendMessage"),
    ("POST /bot987654321%3AS3cr3tValue-abcdefghijklmnopqrstuvw/getMe", "/bot[redacted]/getMe"),
    ('127.0.0.1:1 - "POST /webhooks/wechat?signature=S3cr3tValue&timestamp=1&nonce=2&openid=o1 HTTP/1.1" 200',
     '"POST /webhooks/wechat?[redacted] HTTP/1.1" 200'),
    ("Settings(wecom_bot_aes_key='S3cr3tValue', telegram_webhook_secret='S3cr3tValue', port=8000)", "port=8000"),
    ('{"access_token": "S3cr3tValue", "expires_in": 7200}', '"expires_in": 7200'),
    ("Authorization: Bearer S3cr3tValue.x", "Authorization: Bearer [redacted]"),
    ("redis://:S3cr3tValue@cache:6379/0", "redis://:[redacted]@cache:6379/0"),
])
def test_credentials_are_redacted_by_their_shape(line, kept):
    from bots.logs import REDACT

    redacted = REDACT(line)
    assert "S3cr3tValue" not in redacted and kept in redacted, redacted


def test_ordinary_lines_are_left_alone():
    from bots.logs import REDACT

    for line in ("signature does not match: check the token configured on the platform",
                 "WeCom message/send: access token rejected (errcode 40001); refreshing",
                 "outbox 7 to telegram:-1001234567890 unreachable", "chat key=telegram:-100 inbox 5"):
        assert REDACT(line) == line


def test_every_logger_and_handler_made_later_gets_redacted_records(tmp_path):
    from bots.logs import JsonFormatter, protect
    from config.settings import Settings

    protect(Settings(data_dir=tmp_path, wecom_secret="corp-S3cr3tValue", wecom_aes_key=WECOM_AES_KEY, _env_file=None))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))  # a plain formatter: only the record factory protects it
    logger = logging.getLogger(f"some.library.made.later.{time.monotonic_ns()}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    url = httpx.URL("https://qyapi.weixin.qq.com/cgi-bin/gettoken", params={"corpsecret": "corp-S3cr3tValue"})
    logger.debug("fetch %s (%r) try %d of %.1f", url, "corp-S3cr3tValue", 2, 3.0)
    logger.info("%(key)s", {"key": WECOM_AES_KEY})
    logger.warning("plain f-string with corp-S3cr3tValue inside")
    try:
        raise RuntimeError("could not reach https://x.example/?access_token=tok-S3cr3tValue")
    except RuntimeError:
        logger.exception("failed")
    handler.setFormatter(JsonFormatter())
    logger.info("with extra", extra={"detail": "corpsecret=corp-S3cr3tValue"})
    out = stream.getvalue()
    assert "S3cr3tValue" not in out and WECOM_AES_KEY not in out, out
    assert "try 2 of 3.0" in out and "RuntimeError" in out and "[redacted]" in out


def test_the_secret_values_searched_for_are_the_configured_ones_not_public_defaults(tmp_path):
    from bots.logs import secrets_of
    from config.settings import Settings

    assert secrets_of(Settings(data_dir=tmp_path, _env_file=None)) == []  # the default LINLI_SECRET_KEY is in the source
    configured = Settings(data_dir=tmp_path, secret_key="k" * 32, wechat_app_secret="app-secret", wecom_bot_aes_key=BOT_AES_KEY,
                          redis_url="redis://:redis-password@cache:6379/0", database_url="postgresql://linli:db-password@db/linli",
                          wecom_robot_webhooks="a=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-1", _env_file=None)
    assert set(secrets_of(configured)) == {"k" * 32, "app-secret", BOT_AES_KEY, "redis-password", "db-password", "robot-key-1"}
