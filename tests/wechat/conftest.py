"""A fake WeChat/WeCom API server (a real uvicorn server on 127.0.0.1) and the linli app wired to it.

The fake records every outgoing call (token fetches, customer-service sends, WeCom
``message/send`` and ``appchat/send``, AI-bot ``response_url`` posts, group robot webhooks) and
answers an errcode on demand (``fake.fail_next("custom/send", 45015)``; ``fake.revoke_tokens()``
makes the next call with an old token answer 40001).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, func, select

from adapters.wx_common import Envelope, new_nonce, parse_xml, signature
from bots.app import create_app
from bots.runtime import Runtime
from config.settings import Settings
from core.models import InboxMessage, OutboxMessage, Ticket

APP_ID = "wx1234567890abcdef"  # bound to 幸福社区 in config/grids.example.yaml
OA_TOKEN = "oa-callback-token"
CORP_ID = "ww0123456789abcdef"
WECOM_TOKEN = "wecom-callback-token"
BOT_TOKEN = "aibot-callback-token"
BOT_GROUP = "wrkSFfCgAAxxxx"  # bound to 幸福社区第二网格 in the example grids file


def aes_key(seed: int) -> str:
    """A 43-character EncodingAESKey, as the platforms generate them."""
    return base64.b64encode(bytes((seed + i) % 256 for i in range(32))).decode().rstrip("=")


OA_AES_KEY, WECOM_AES_KEY, BOT_AES_KEY = aes_key(1), aes_key(2), aes_key(3)


class FakeWeChatApi:
    """The platform side: issues tokens, records sends, fails on demand."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.valid_tokens: set[str] = set()
        self.issued: list[str] = []  # every access token handed out, valid or not
        self.failures: dict[str, list[int]] = defaultdict(list)
        self._ids = itertools.count(1)
        self.base_url = ""
        self.app = FastAPI()
        self.app.add_api_route("/cgi-bin/token", self._token, methods=["GET"])
        self.app.add_api_route("/cgi-bin/gettoken", self._token, methods=["GET"])
        for path in ("/cgi-bin/message/custom/send", "/cgi-bin/message/send", "/cgi-bin/appchat/send"):
            self.app.add_api_route(path, self._authorised_send, methods=["POST"])
        self.app.add_api_route("/cgi-bin/externalcontact/add_msg_template", self._authorised_send, methods=["POST"])
        self.app.add_api_route("/cgi-bin/externalcontact/get", self._external_contact, methods=["GET"])
        self.contacts: dict[str, str] = {}  # external_userid → name, for externalcontact/get
        self.media: dict[str, bytes] = {}  # media_id → bytes for /cgi-bin/media/get
        self.files: dict[str, bytes] = {}  # name → bytes at /files/<name> (AI-bot image URLs, PicUrl)
        self.file_failures: list[int] = []  # HTTP statuses the next /files/ and media/get downloads answer
        self.app.add_api_route("/cgi-bin/media/get", self._media_get, methods=["GET"])
        self.app.add_api_route("/files/{name}", self._file, methods=["GET"])
        self.app.add_api_route("/robot/{name}", self._open_send, methods=["POST"])
        self.app.add_api_route("/response/{rid}", self._open_send, methods=["POST"])

    def fail_next(self, path_suffix: str, code: int) -> None:
        self.failures[path_suffix].append(code)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def sent(self, path_suffix: str) -> list[dict]:
        return [c for c in self.calls if c["path"].endswith(path_suffix)]

    def _failure(self, path: str) -> int | None:
        for suffix, codes in self.failures.items():
            if path.endswith(suffix) and codes:
                return codes.pop(0)
        return None

    async def _token(self, request: Request) -> JSONResponse:
        token = f"token-{next(self._ids)}"
        self.valid_tokens.add(token)
        self.issued.append(token)
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": None})
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def _authorised_send(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": body})
        if request.query_params.get("access_token") not in self.valid_tokens:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        code = self._failure(request.url.path)
        if code is not None:
            return JSONResponse({"errcode": code, "errmsg": "fake failure"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": f"msg-{next(self._ids)}"})

    async def _external_contact(self, request: Request) -> JSONResponse:
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": None})
        if request.query_params.get("access_token") not in self.valid_tokens:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        name = self.contacts.get(request.query_params.get("external_userid", ""))
        if name is None:
            return JSONResponse({"errcode": 84061, "errmsg": "not external contact"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "external_contact": {"name": name, "type": 1}})

    async def _media_get(self, request: Request) -> Response:
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": None})
        if self.file_failures:
            return Response(b"fake failure", status_code=self.file_failures.pop(0))
        if request.query_params.get("access_token") not in self.valid_tokens:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        data = self.media.get(request.query_params.get("media_id", ""))
        if data is None:
            return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
        return Response(data, media_type="image/jpeg", headers={"Content-disposition": 'attachment; filename="m.jpg"'})

    async def _file(self, name: str, request: Request) -> Response:
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": None})
        if self.file_failures:
            return Response(b"fake failure", status_code=self.file_failures.pop(0))
        data = self.files.get(name)
        return Response(data, media_type="application/octet-stream") if data is not None else Response(status_code=404)

    async def _open_send(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.calls.append({"path": request.url.path, "query": dict(request.query_params), "json": body})
        code = self._failure(request.url.path)
        return JSONResponse({"errcode": code or 0, "errmsg": "fake failure" if code else "ok"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeWeChatApi]:
    fake = FakeWeChatApi()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake WeChat API server did not start")
        time.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def fake(fake_api: FakeWeChatApi) -> FakeWeChatApi:
    """The shared fake server, with its record and failure queues emptied for this test."""
    fake_api.calls.clear()
    fake_api.failures.clear()
    fake_api.valid_tokens.clear()
    fake_api.issued.clear()
    fake_api.contacts.clear()
    fake_api.media.clear()
    fake_api.files.clear()
    fake_api.file_failures.clear()
    return fake_api


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory, postgres_admin) -> Iterator[dict[str, str]]:
    """Databases migrated once per session; each test starts from a copy (migrating takes ~1.5 s)."""
    from core.db import upgrade

    path = tmp_path_factory.mktemp("wx-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    templates = {"sqlite": str(path)}
    if postgres_admin is not None:
        name = f"linli_wx_tpl_{os.getpid()}"
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        upgrade(postgres_admin.url.set(database=name).render_as_string(hide_password=False))
        templates["postgres"] = name
    yield templates
    if postgres_admin is not None:
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{templates["postgres"]}" WITH (FORCE)'))


def _start_from_template(database_url: str, templates: dict[str, str], postgres_admin) -> None:
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(templates["sqlite"], database_url[len("sqlite:///"):])
        return
    name = sa.engine.make_url(database_url).database
    with postgres_admin.connect() as conn:  # the fixture's empty database, recreated as a copy of the template
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{templates["postgres"]}"'))


@pytest.fixture
def wx_settings(tmp_path, database_url, fake, migrated_templates, postgres_admin) -> Settings:
    _start_from_template(database_url, migrated_templates, postgres_admin)
    return Settings(
        data_dir=tmp_path, database_url=database_url, run_outbox=False, run_scheduler=False, playground=False,
        run_photos=False,
        wechat_token=OA_TOKEN, wechat_app_id=APP_ID, wechat_app_secret="oa-secret", wechat_aes_key=OA_AES_KEY,
        wechat_api_base=fake.base_url,
        wecom_corp_id=CORP_ID, wecom_agent_id="1000002", wecom_secret="wecom-secret", wecom_token=WECOM_TOKEN,
        wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url,
        wecom_bot_token=BOT_TOKEN, wecom_bot_aes_key=BOT_AES_KEY,
        wecom_robot_webhooks=f"notices={fake.base_url}/robot/notices",
        _env_file=None,
    )


@pytest.fixture
def wx_runtime(wx_settings) -> Iterator[Runtime]:
    rt = Runtime(wx_settings)
    rt.prepare()
    yield rt
    rt.engine.dispose()


@pytest.fixture
async def client(wx_runtime) -> httpx.AsyncClient:
    """HTTP into the app (ASGI transport: no lifespan, so no background outbox worker runs)."""
    app = create_app(runtime=wx_runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linli.test") as c:
        yield c
    await asyncio.gather(*(a.stop() for a in wx_runtime.adapters.values()))


def _counts(runtime: Runtime) -> dict[str, int]:
    with Session(runtime.engine) as session:
        return {
            "inbox": session.exec(select(func.count()).select_from(InboxMessage)).one(),
            "tickets": session.exec(select(func.count()).select_from(Ticket)).one(),
            "outbox": session.exec(select(func.count()).select_from(OutboxMessage)).one(),
        }


@pytest.fixture
def counts(wx_runtime):
    """``counts()``: inbox rows, tickets and outbox rows now (what 'nothing stored' is checked against)."""
    return lambda: _counts(wx_runtime)


class Platform:
    """Sends callbacks the way WeChat, WeCom and the AI bot do: signed, and encrypted with wechatpy's crypto."""

    app_id, corp_id, bot_group = APP_ID, CORP_ID, BOT_GROUP

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self.oa = Envelope(OA_TOKEN, OA_AES_KEY, APP_ID)
        self.wecom = Envelope(WECOM_TOKEN, WECOM_AES_KEY, CORP_ID)
        self.bot = Envelope(BOT_TOKEN, BOT_AES_KEY, "")
        self._ids = itertools.count(int(time.time()))

    def new_msg_id(self) -> str:
        return str(next(self._ids) * 1000)

    # -- Official Account ------------------------------------------------------------------

    def oa_query(self, ts: int | None = None, nonce: str | None = None) -> dict[str, str]:
        """A fresh signed query, as WeChat sends with each callback (a new nonce every time)."""
        ts, nonce = str(ts if ts is not None else int(time.time())), nonce or new_nonce()
        return {"timestamp": ts, "nonce": nonce, "signature": signature(OA_TOKEN, ts, nonce), "openid": "o-resident"}

    @staticmethod
    def oa_text(text: str, msg_id: str, openid: str = "o-resident", kind: str = "text", extra: str = "") -> str:
        body = f"<Content><![CDATA[{text}]]></Content>" if kind == "text" else ""
        return (f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}{extra}"
                f"<MsgId>{msg_id}</MsgId></xml>")

    def oa_callback(self, xml: str, *, encrypted: bool = True, ts: int | None = None, **override) -> tuple[dict[str, str], bytes]:
        """The query and body of one Official Account callback: safe mode (AES) unless ``encrypted=False``."""
        params = self.oa_query(ts)
        body = xml
        if encrypted:
            encrypt, msg_sig = self.oa.seal(xml, params["timestamp"], params["nonce"])
            body = f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            params.update(encrypt_type="aes", msg_signature=msg_sig)
        params.update(override)
        return params, body.encode() if isinstance(body, str) else body

    async def oa_post(self, xml: str, *, encrypted: bool = True, ts: int | None = None, **override) -> httpx.Response:
        params, body = self.oa_callback(xml, encrypted=encrypted, ts=ts, **override)
        return await self.client.post("/webhooks/wechat", params=params, content=body)

    def oa_reply(self, response: httpx.Response) -> dict:
        """The passive reply's fields, decrypted when it is a safe-mode envelope."""
        doc = parse_xml(response.text)
        return self.oa_open_reply(response.text) if "Encrypt" in doc else doc

    def oa_open_reply(self, xml: str) -> dict:
        outer = parse_xml(xml)
        return parse_xml(self.oa.open(outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]))

    # -- WeCom app ----------------------------------------------------------------------------

    def wecom_callback(self, inner_xml: str, *, ts: int | None = None, **override) -> tuple[dict[str, str], bytes]:
        ts_s, nonce = str(ts if ts is not None else int(time.time())), new_nonce()
        encrypt, msg_sig = self.wecom.seal(inner_xml, ts_s, nonce)
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<AgentID><![CDATA[1000002]]></AgentID></xml>")
        return {"msg_signature": msg_sig, "timestamp": ts_s, "nonce": nonce, **override}, body.encode()

    async def wecom_post(self, inner_xml: str, *, ts: int | None = None, **override) -> httpx.Response:
        params, body = self.wecom_callback(inner_xml, ts=ts, **override)
        return await self.client.post("/webhooks/wecom", params=params, content=body)

    @staticmethod
    def wecom_text(user: str, text: str, msg_id: str) -> str:
        return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")

    # -- WeCom AI bot -----------------------------------------------------------------------------

    def bot_callback(self, payload: dict | str, *, ts: int | None = None, **override) -> tuple[dict[str, str], bytes]:
        ts_s, nonce = str(ts if ts is not None else int(time.time())), new_nonce()
        plaintext = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        encrypt, msg_sig = self.bot.seal(plaintext, ts_s, nonce)
        params = {"msg_signature": msg_sig, "timestamp": ts_s, "nonce": nonce, **override}
        return params, json.dumps({"encrypt": encrypt}).encode()

    async def bot_post(self, payload: dict | str, *, ts: int | None = None, **override) -> httpx.Response:
        params, body = self.bot_callback(payload, ts=ts, **override)
        return await self.client.post("/webhooks/wecom-bot", params=params, content=body,
                                      headers={"content-type": "application/json"})

    def bot_open_reply(self, response: httpx.Response) -> dict:
        data = response.json()
        return json.loads(self.bot.open(data["msgsignature"], str(data["timestamp"]), data["nonce"], data["encrypt"]))

    def group_mention(self, user: str, text: str, msg_id: str, *, fake_base: str = "", chat: str = BOT_GROUP) -> dict:
        return {
            "msgid": msg_id, "aibotid": "AIBOTID", "chatid": chat, "chattype": "group", "from": {"userid": user},
            "response_url": f"{fake_base}/response/{msg_id}", "msgtype": "text", "text": {"content": f"@邻里助手 {text}"},
        }


@pytest.fixture
def wx(client) -> Platform:
    return Platform(client)


@pytest.fixture
async def instance(wx_settings):
    """``await instance(**settings_overrides)``: one more app instance on the same database, as a
    :class:`Platform` driving it (``.runtime`` is its runtime). Several instances share the database
    the way several ``linli serve`` processes behind a load balancer do."""
    opened: list[tuple[Runtime, httpx.AsyncClient]] = []

    async def start(**overrides) -> Platform:
        runtime = Runtime(wx_settings.model_copy(update=overrides))
        runtime.prepare()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://linli.test")
        opened.append((runtime, http))
        platform = Platform(http)
        platform.runtime = runtime
        return platform

    yield start
    for runtime, http in opened:
        await http.aclose()
        await asyncio.gather(*(a.stop() for a in runtime.adapters.values()))
        runtime.engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests (number 15 on 127.0.0.1:6379); the test is skipped when no Redis runs."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session", autouse=True)
def warm_classifier() -> None:
    """Load the classifier model once up front, as a running service has: the first load takes
    seconds, which would push a test's first answer past WeChat's passive-reply window."""
    from core.classify import classify

    classify("楼道灯坏了")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the behaviour does not depend on the database; run it on SQLite only")


def pytest_collection_modifyitems(config, items) -> None:
    """Drop the PostgreSQL variant of tests marked sqlite_only (refusals store nothing on any database)."""
    keep, dropped = [], []
    for item in items:
        is_pg = "postgres" in getattr(item, "callspec", None).id.split("-") if hasattr(item, "callspec") else False
        (dropped if is_pg and item.get_closest_marker("sqlite_only") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
