"""WeCom customer groups through the chat archive: the fake archive encrypts records as WeCom's
does; linli pulls, decrypts, parses, stores exactly once, keeps bad records, honours consent,
relays answers to the group's owner through the fake WeCom API server, and survives SIGKILL."""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlmodel import Session, func, select

from adapters.wecom_archive.fake import FakeArchive, new_private_key_pem, public_key_of
from adapters.wx_common import Envelope
from bots.app import create_app
from core import archive
from core.models import InboxMessage, Ticket
from core.ticket_states import TicketState

ROOM = "wrOgQhDgAAcwMTB7YmDkbeBsgT_AAAAA"
CHAT = f"wecom-archive:{ROOM}"
TITLE = "幸福里3栋群"
RESIDENT, NEIGHBOUR = "wmResidentZhang0001", "woNeighbourLi00002"
WORKER = "wangfang"  # 王芳, grid worker of xingfu-1 with the account wecom:wangfang
CORP_ID = "ww0123456789abcdef"  # the wx fixtures' corp
ARCHIVE_TOKEN = "archive-callback-token"
ARCHIVE_AES_KEY = base64.b64encode(bytes(range(40, 72))).decode().rstrip("=")
ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count(int(time.time() * 1000))


def text_record(sender: str, text: str, *, room: str = ROOM, msgid: str | None = None) -> dict:
    return {"msgid": msgid or f"{next(_ids)}_external", "action": "send", "from": sender, "tolist": [WORKER],
            "roomid": room, "msgtime": int(time.time() * 1000), "msgtype": "text", "text": {"content": text}}


def consent_record(user: str, agreed: bool = True) -> dict:
    kind = "agree" if agreed else "disagree"
    now = int(time.time() * 1000)
    return {"msgid": f"{next(_ids)}_{kind}", "action": "send", "from": user, "tolist": [WORKER], "roomid": "",
            "msgtime": now, "msgtype": kind, kind: {"userid": user, f"{kind}_time": now}}


@pytest.fixture(scope="session")
def key_pems() -> dict[int, str]:
    """Key pairs for publickey_ver 1 and 2 (a rotation), and 3, which linli is never given."""
    return {1: new_private_key_pem(), 2: new_private_key_pem(), 3: new_private_key_pem()}


@pytest.fixture
def fake_archive(key_pems) -> FakeArchive:
    return FakeArchive({v: public_key_of(pem) for v, pem in key_pems.items()})


@pytest.fixture
def archive_settings(wx_settings, tmp_path, key_pems):
    grids = yaml.safe_load((ROOT / "config" / "grids.example.yaml").read_text(encoding="utf-8"))
    grids["chats"].append({"chat": CHAT, "grid": "xingfu-1", "title": TITLE})
    grids_file = tmp_path / "grids.yaml"
    grids_file.write_text(yaml.safe_dump(grids, allow_unicode=True), encoding="utf-8")
    key_file = tmp_path / "archive-v2.pem"
    key_file.write_text(key_pems[2])
    return wx_settings.model_copy(update={
        "grids_file": grids_file, "wecom_archive_secret": "archive-secret",
        # version 1 as PEM text, version 2 from a file: both ways of giving keys
        "wecom_archive_private_keys": {1: key_pems[1], 2: str(key_file)},
        "wecom_archive_batch_size": 3, "wecom_archive_token": ARCHIVE_TOKEN, "wecom_archive_aes_key": ARCHIVE_AES_KEY,
    })


class Archived:
    """The app with the chat-archive channel wired to a fake archive (no lifespan: tests step it)."""

    def __init__(self, settings, fake: FakeArchive):
        from bots.runtime import Runtime

        self.runtime = Runtime(settings)
        self.runtime.prepare()
        self.runtime.archive_source = fake
        self.app = create_app(runtime=self.runtime)
        self.channel = self.app.state.wecom_archive
        self.channel.link_members()
        self.fake = fake

    def pull(self):
        return self.channel.pull_once()

    def count(self, model, *where) -> int:
        with Session(self.runtime.engine) as session:
            return session.exec(select(func.count()).select_from(model).where(*where)).one()

    def kept(self) -> dict[str, tuple[str, str]]:
        with Session(self.runtime.engine) as session:
            return {r.msgid: (r.kind, r.reason) for r in archive.kept_records(session)}

    def tickets(self) -> list[Ticket]:
        with Session(self.runtime.engine) as session:
            return list(session.exec(select(Ticket).order_by(Ticket.id)))

    def cursor(self) -> int:
        with Session(self.runtime.engine) as session:
            return archive.cursor(session, CORP_ID)

    async def close(self) -> None:
        for adapter in self.runtime.adapters.values():
            await adapter.stop()
        self.runtime.engine.dispose()


@pytest.fixture
async def arc(archive_settings, fake_archive):
    archived = Archived(archive_settings, fake_archive)
    yield archived
    await archived.close()


def sent_to_worker(fake) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.sent("/cgi-bin/message/send") if c["json"]["touser"] == WORKER]


async def test_a_residents_group_message_becomes_one_ticket_and_the_owner_gets_the_answer_to_post(arc, fake, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    fake_archive.add(text_record(RESIDENT, "楼上漏水到我家了，墙皮都泡起来了"), publickey_ver=1)
    report = arc.pull()
    assert (report.records, report.stored, report.consent_changes) == (2, 1, 1)
    [ticket] = arc.tickets()
    assert ticket.chat_key == CHAT and ticket.state is TicketState.PENDING and ticket.grid_id == "xingfu-1"
    assert ticket.created_by == f"wecom-archive:{RESIDENT}"

    await arc.runtime.deliver_due()
    [note] = sent_to_worker(fake)
    first, answer, hints = note.split("\n")
    assert first == f"请在「{TITLE}」回复："
    assert answer.startswith(f"已收到您的诉求，编号 #{ticket.id}（邻里问题）")
    assert hints.startswith(f"回复 「确认 {ticket.id}」 或 「驳回 {ticket.id}」")
    with Session(arc.runtime.engine) as session:
        [waiting] = archive.waiting_answers(session)
    assert (waiting.chat_key, waiting.text, waiting.owners, waiting.via) == (CHAT, answer, WORKER, "app")

    # the owner posts it: the archive shows it, the answer is no longer waiting, the bot does not read it
    fake_archive.add(text_record(WORKER, answer + "\n"), publickey_ver=2)
    assert arc.pull().posted == 1
    with Session(arc.runtime.engine) as session:
        assert archive.waiting_answers(session) == []
    assert arc.count(InboxMessage) == 1 and len(arc.tickets()) == 1


async def test_grid_workers_are_known_in_the_groups_by_their_wecom_accounts(arc):
    from core.models import Person

    with Session(arc.runtime.engine) as session:
        worker = session.exec(select(Person).where(Person.key == f"wecom-archive:{WORKER}")).one()
    assert (worker.role, worker.grid_id, worker.name) == ("grid_worker", "xingfu-1", "王芳（网格员）")


async def test_the_grid_worker_confirms_in_the_app_and_the_deadline_warning_reaches_them(arc, fake, fake_archive, wx):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    fake_archive.add(text_record(RESIDENT, "小区门口的路灯坏了好几天了，晚上很黑"), publickey_ver=1)
    arc.pull()
    [ticket] = arc.tickets()
    await arc.runtime.deliver_due()

    # the worker answers the card in the WeCom app; the resident-facing announcement comes back to post
    await wx.wecom_post(wx.wecom_text(WORKER, f"确认 {ticket.id}", wx.new_msg_id()))
    await arc.runtime.deliver_due()
    [ticket] = arc.tickets()
    assert ticket.state is TicketState.CONFIRMED
    announcement = [t for t in sent_to_worker(fake) if t.startswith(f"请在「{TITLE}」回复：\n#{ticket.id} 已受理")]
    assert len(announcement) == 1

    # past 75 % of the resolve time: the 黄灯催办 is a staff notice: it goes to the staff room
    # (wecom:grid-workers in the example), never to the owner as something to post in the residents' group
    late = ticket.confirmed_at + (ticket.resolve_due_at - ticket.confirmed_at) * 0.8
    report = arc.runtime.sweeper.run_once(now=late)
    assert report.done.get("yellow") == 1
    before = len(sent_to_worker(fake))
    arc.runtime.clock = lambda: late  # the warning is due at the sweep's time
    await arc.runtime.deliver_due()
    notes = sent_to_worker(fake)[before:]
    staff_room = [c["json"]["text"]["content"] for c in fake.sent("/cgi-bin/appchat/send") if c["json"]["chatid"] == "grid-workers"]
    assert any(n.startswith(f"【黄灯催办】#{ticket.id}") for n in staff_room)
    assert not any(n.startswith("请在") for n in notes)


async def test_without_consent_a_resident_is_skipped_with_the_reason_and_no_ticket(arc, fake_archive):
    silent = fake_archive.add(text_record(RESIDENT, "楼道里堆满了杂物，消防通道被堵住了"), publickey_ver=1)
    fake_archive.add(consent_record(NEIGHBOUR, agreed=False), publickey_ver=1)
    refused = fake_archive.add(text_record(NEIGHBOUR, "垃圾桶满了好几天没人清运"), publickey_ver=1)
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    agreed = fake_archive.add(text_record(RESIDENT, "电梯坏了，老人下不了楼"), publickey_ver=1)
    member = fake_archive.add(text_record(WORKER, "大家好，我是网格员王芳"), publickey_ver=1)
    report = arc.pull()
    assert report.skipped_consent == 2
    kept = arc.kept()
    assert kept[silent.msgid][0] == "skipped" and "no consent recorded" in kept[silent.msgid][1]
    assert kept[refused.msgid][0] == "skipped" and "disagreed" in kept[refused.msgid][1]
    with Session(arc.runtime.engine) as session:
        stored = set(session.exec(select(InboxMessage.dedup_key)))
    assert stored == {f"{CHAT}:{agreed.msgid}", f"{CHAT}:{member.msgid}"}
    assert [t.text for t in arc.tickets()] == ["电梯坏了，老人下不了楼"]


async def test_consent_can_be_switched_off_by_setting(archive_settings, fake_archive):
    arc = Archived(archive_settings.model_copy(update={"wecom_archive_require_consent": False}), fake_archive)
    try:
        fake_archive.add(text_record(RESIDENT, "楼上漏水到我家了"), publickey_ver=1)
        assert arc.pull().stored == 1 and len(arc.tickets()) == 1
    finally:
        await arc.close()


async def test_bad_records_are_kept_with_the_reason_and_never_stop_the_pull(arc, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    unknown = fake_archive.add(text_record(RESIDENT, "路灯不亮"), publickey_ver=3)
    garbled_key = fake_archive.add_encrypted(msgid="garbled-key", publickey_ver=1, encrypt_random_key="bm90IGEga2V5",
                                             encrypt_chat_msg=fake_archive.records[-1].encrypt_chat_msg)
    good_key = fake_archive.records[0]
    garbled_msg = fake_archive.add_encrypted(msgid="garbled-msg", publickey_ver=1, encrypt_random_key=good_key.encrypt_random_key,
                                             encrypt_chat_msg=base64.b64encode(os.urandom(64)).decode())
    truncated = fake_archive.add_encrypted(msgid="truncated", publickey_ver=1, encrypt_random_key=good_key.encrypt_random_key,
                                           encrypt_chat_msg="abc")
    not_json = fake_archive.add_plaintext(b'{"msgid": "x", "text": ', msgid="not-json", publickey_ver=2)
    no_sender = fake_archive.add({"msgid": "no-sender", "roomid": ROOM, "msgtype": "text", "msgtime": 1}, publickey_ver=1)
    good = fake_archive.add(text_record(RESIDENT, "井盖丢了，很危险"), publickey_ver=2)
    report = arc.pull()
    assert report.records == 8 and report.seq == fake_archive.last_seq == arc.cursor()
    kept = arc.kept()
    assert kept[unknown.msgid] == ("bad", kept[unknown.msgid][1]) and "unknown key version 3" in kept[unknown.msgid][1]
    assert "random key cannot be decrypted" in kept[garbled_key.msgid][1]
    assert "DecryptData failed" in kept[garbled_msg.msgid][1]
    assert "empty or truncated" in kept[truncated.msgid][1]
    assert "not JSON" in kept[not_json.msgid][1]
    assert "malformed record" in kept[no_sender.msgid][1]
    with Session(arc.runtime.engine) as session:
        row = session.exec(select(archive.ArchiveRecord).where(archive.ArchiveRecord.msgid == unknown.msgid)).one()
    assert row.publickey_ver == 3 and row.record["encrypt_chat_msg"] == unknown.encrypt_chat_msg  # kept to retry
    assert [t.text for t in arc.tickets()] == ["井盖丢了，很危险"]
    assert good.msgid in {k.rsplit(":", 1)[1] for k in _inbox_keys(arc)}


def _inbox_keys(arc) -> list[str]:
    with Session(arc.runtime.engine) as session:
        return list(session.exec(select(InboxMessage.dedup_key)))


async def test_records_wrapped_with_either_key_of_a_rotation_are_read(arc, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    old = fake_archive.add(text_record(RESIDENT, "楼道灯坏了"), publickey_ver=1)
    new = fake_archive.add(text_record(RESIDENT, "楼下有人占道经营，堵住了人行道"), publickey_ver=2)
    assert arc.pull().stored == 2
    assert {f"{CHAT}:{old.msgid}", f"{CHAT}:{new.msgid}"} <= set(_inbox_keys(arc))


async def test_robots_one_to_one_chats_and_recalls_never_reach_the_bot(arc, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    fake_archive.add(text_record("wbRobot0001", "【通知】明天停水"), publickey_ver=1)
    fake_archive.add(text_record(RESIDENT, "私聊：楼上漏水", room=""), publickey_ver=1)
    recall = {**text_record(RESIDENT, ""), "action": "recall", "msgtype": "revoke", "revoke": {"pre_msgid": "m1"}}
    fake_archive.add(recall, publickey_ver=1)
    report = arc.pull()
    assert (report.records, report.stored, report.ignored) == (4, 0, 2)
    assert arc.kept()[recall["msgid"]] == ("skipped", "recall of m1") and arc.count(InboxMessage) == 0


async def test_images_voice_locations_and_chat_records_are_kept(arc, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    base = text_record(RESIDENT, "")
    records = [
        {**base, "msgid": "img", "msgtype": "image", "image": {"sdkfileid": "FILE-IMG", "md5sum": "m", "filesize": 10}},
        {**base, "msgid": "voice", "msgtype": "voice", "voice": {"sdkfileid": "FILE-VOICE", "play_length": 3}},
        {**base, "msgid": "loc", "msgtype": "location",
         "location": {"longitude": 116.3, "latitude": 39.9, "address": "幸福里3栋", "title": "幸福里"}},
        {**base, "msgid": "rec", "msgtype": "chatrecord", "chatrecord": {"title": "群聊的聊天记录", "item": [
            {"type": "ChatRecordText", "content": json.dumps({"content": "楼道里有老鼠"})},
            {"type": "ChatRecordImage", "content": json.dumps({"sdkfileid": "FILE-REC"})}]}},
        {**base, "msgid": "mix", "msgtype": "mixed", "mixed": {"item": [
            {"type": "text", "content": json.dumps({"content": "看这里"})},
            {"type": "image", "content": json.dumps({"sdkfileid": "FILE-MIX"})}]}},
    ]
    for record in records:
        fake_archive.add(record, publickey_ver=1)
    arc.pull()
    with Session(arc.runtime.engine) as session:
        payloads = {r.dedup_key.rsplit(":", 1)[1]: r.payload for r in session.exec(select(InboxMessage))}
    assert payloads["img"]["attachments"][0] | {} == {**payloads["img"]["attachments"][0], "kind": "image", "ref": "FILE-IMG"}
    assert payloads["voice"]["attachments"][0]["kind"] == "voice"
    assert payloads["loc"]["text"] == "[位置] 幸福里 幸福里3栋" and payloads["loc"]["attachments"][0]["latitude"] == 39.9
    assert payloads["rec"]["text"] == "[聊天记录] 群聊的聊天记录\n楼道里有老鼠"
    assert payloads["mix"]["text"] == "看这里" and payloads["mix"]["attachments"][0]["ref"] == "FILE-MIX"


async def test_residents_are_named_from_the_customer_contact_api(archive_settings, fake_archive, fake):
    fake.contacts[RESIDENT] = "张阿姨"
    arc = Archived(archive_settings.model_copy(update={"wecom_archive_contact_secret": "contact-secret",
                                                       "wecom_archive_require_consent": False}), fake_archive)
    try:
        fake_archive.add(text_record(RESIDENT, "早上好"), publickey_ver=1)
        fake_archive.add(text_record(NEIGHBOUR, "早上好"), publickey_ver=1)
        fake_archive.add(text_record(RESIDENT, "大家早"), publickey_ver=1)
        arc.pull()
        with Session(arc.runtime.engine) as session:
            names = [r.payload["sender_name"] for r in session.exec(select(InboxMessage).order_by(InboxMessage.id))]
        assert names == ["张阿姨", "居民", "张阿姨"]
        assert len(fake.sent("/cgi-bin/externalcontact/get")) == 2  # cached
    finally:
        await arc.close()  # closes the contact API client too


async def test_a_restarted_instance_goes_on_from_the_stored_cursor(archive_settings, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    for i in range(7):
        fake_archive.add(text_record(RESIDENT, f"第{i}栋楼道灯坏了"), publickey_ver=1 + i % 2)
    first = Archived(archive_settings, fake_archive)
    assert first.pull().records == 8
    await first.close()
    fake_archive.add(text_record(RESIDENT, "垃圾没人清运"), publickey_ver=1)
    second = Archived(archive_settings, fake_archive)
    try:
        assert second.pull().records == 1 and fake_archive.pulls[-1][0] == 8
        assert second.count(InboxMessage) == 8
    finally:
        await second.close()


async def test_a_failing_pull_keeps_the_cursor_and_the_next_one_goes_on(arc, fake_archive):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    fake_archive.fail_pulls = 1
    assert "10001" in arc.pull().error and arc.cursor() == 0
    assert arc.pull().records == 1 and arc.cursor() == 1


@pytest.mark.sqlite_only
async def test_the_archive_callback_wakes_the_puller_and_refuses_bad_signatures(arc):
    envelope = Envelope(ARCHIVE_TOKEN, ARCHIVE_AES_KEY, CORP_ID)
    ts, nonce = str(int(time.time())), "n1"
    inner = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
             f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[msgaudit_notify]]></Event>"
             "<AgentID>2000004</AgentID></xml>")
    encrypt, sig = envelope.seal(inner, ts, nonce)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=arc.app), base_url="http://linli.test") as client:
        bad = await client.post("/webhooks/wecom-archive", params={"msg_signature": "0" * 40, "timestamp": ts, "nonce": nonce},
                                content=body)
        assert bad.status_code == 403 and not arc.channel.wakeup.is_set()
        ok = await client.post("/webhooks/wecom-archive", params={"msg_signature": sig, "timestamp": ts, "nonce": nonce},
                               content=body)
        assert ok.status_code == 200 and arc.channel.wakeup.is_set()


async def test_mass_messages_respect_the_daily_limit_and_say_so(archive_settings, fake_archive, fake):
    arc = Archived(archive_settings.model_copy(update={"wecom_archive_mass_message": True}), fake_archive)
    try:
        fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
        fake_archive.add(text_record(RESIDENT, "楼上漏水到我家了"), publickey_ver=1)
        fake_archive.add(text_record(RESIDENT, "小区门口路灯坏了"), publickey_ver=1)
        arc.pull()
        await arc.runtime.deliver_due()
        [mass] = fake.sent("/cgi-bin/externalcontact/add_msg_template")
        assert mass["json"]["chat_type"] == "group" and mass["json"]["chat_id_list"] == [ROOM]
        assert mass["json"]["sender"] == WORKER and mass["json"]["text"]["content"].startswith("已收到您的诉求")
        notes = sent_to_worker(fake)
        assert notes[0].startswith(f"已向「{TITLE}」提交企业群发")
        assert notes[1].startswith(f"请在「{TITLE}」回复：") and "本群今天已企业群发 1 条（上限 1 条）" in notes[1]
    finally:
        await arc.close()


SDK_CHECK = """
import ctypes, json, logging, platform, sys, time
from pathlib import Path
from adapters.wecom_archive.sdk import SDK_LOGGER, SdkArchive
from adapters.wecom_archive.source import ArchiveError, RecordError
import pyweworkfinance
name = "libWeWorkFinanceSdk_C_arm.so" if platform.machine() in ("arm64", "aarch64") else "libWeWorkFinanceSdk_C_x86.so"
lib = ctypes.CDLL(str(Path(pyweworkfinance.__file__).parent / "libs" / "linux" / name))
symbols = [s for s in ("NewSdk", "Init", "GetChatData", "DecryptData", "GetMediaData", "DestroySdk") if hasattr(lib, s)]
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
sdk = SdkArchive("ww-not-a-corp", "secret-never-printed", timeout=2)
logging.getLogger(SDK_LOGGER).setLevel(logging.DEBUG)  # as a careless operator might
started = time.monotonic()
try:
    sdk.pull(0, 10)
    pulled = "no error"
except ArchiveError as exc:
    pulled = str(exc)
try:
    sdk.decrypt("k" * 32, "A" * 24)
    decrypted = "no error"
except RecordError as exc:
    decrypted = exc.reason
from core.classify import classify  # OpenCC and the classifier still work after the SDK
print(json.dumps({"symbols": symbols, "pulled": pulled, "decrypted": decrypted, "seconds": time.monotonic() - started,
                  "handlers": len(logging.getLogger(SDK_LOGGER).handlers), "request": classify("楼道灯坏了").is_request}))
"""


def test_the_real_finance_sdk_loads_and_fails_fast_without_the_network_printing_no_secret():
    done = subprocess.run([sys.executable, "-c", SDK_CHECK], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["symbols"] == ["NewSdk", "Init", "GetChatData", "DecryptData", "GetMediaData", "DestroySdk"]
    assert "SDK error 10001" in result["pulled"]  # 网络错误: no route to Tencent here, and no hang
    assert "SDK error" in result["decrypted"] and result["seconds"] < 10
    assert result["handlers"] == 0 and result["request"] is True
    assert "secret-never-printed" not in done.stdout + done.stderr and "k" * 32 not in done.stdout + done.stderr


def test_loading_the_sdk_after_opencc_is_refused_instead_of_aborting_the_process():
    import opencc  # noqa: F401 - loaded in this process by the classifier already

    from adapters.wecom_archive.sdk import SdkArchive
    from adapters.wecom_archive.source import ArchiveError

    with pytest.raises(ArchiveError, match="before OpenCC"):
        SdkArchive("ww-not-a-corp", "secret")


@pytest.mark.slow
def test_every_record_is_stored_exactly_once_when_the_puller_is_killed_mid_pull(archive_settings, fake_archive, tmp_path):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    problems = ["楼上漏水到我家了", "路灯坏了", "垃圾没人清运", "电梯困人了", "井盖丢了", "楼道堆满杂物", "早上好", "谢谢大家"]
    for i in range(24):
        fake_archive.add(text_record(RESIDENT, f"{i}号楼{problems[i % len(problems)]}"), publickey_ver=1 + i % 2)
    archive_file, settings_file = tmp_path / "archive.json", tmp_path / "settings.json"
    fake_archive.save(archive_file)
    settings_file.write_text(archive_settings.model_copy(update={"wecom_archive_batch_size": 4}).model_dump_json())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(kill_at: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(Path(__file__).with_name("archive_child.py")), str(settings_file),
                               str(archive_file), str(kill_at)], env=env, capture_output=True, text=True, timeout=120)

    # Commits in a run: a batch's (messages + cursor), then two per message processed, then the next batch's.
    # 1 and 10 kill a run just before a batch's commit (that batch is lost and pulled again); 5, 9 and 14
    # kill it while the stored messages are being processed (the restart's recovery finishes them).
    for kill_at in (1, 5, 9, 10, 14):
        killed = run(kill_at)
        assert killed.returncode == -9, killed.stderr[-2000:]
    finished = run(0)
    assert finished.returncode == 0, finished.stderr[-2000:]
    arc = Archived(archive_settings, fake_archive)
    try:
        keys = _inbox_keys(arc)
        assert sorted(keys) == sorted({f"{CHAT}:{r.msgid}" for r in fake_archive.records[1:]})  # each once, none lost
        assert arc.cursor() == fake_archive.last_seq
        with Session(arc.runtime.engine) as session:
            statuses = set(session.exec(select(InboxMessage.status)))
            origins = list(session.exec(select(Ticket.origin_message_id)))
        assert statuses <= {"done", "ignored"}
        assert len(origins) == len(set(origins)) and origins
    finally:
        arc.runtime.engine.dispose()


async def test_exactly_one_instance_pulls(arc, fake_archive):
    from adapters.wecom_archive.channel import ArchiveChannel
    from bots.channels import ChannelHost

    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    assert arc.pull().records == 1  # this instance now holds the archive lock
    other = ArchiveChannel(ChannelHost(arc.runtime), fake_archive)  # another instance on the same database
    fake_archive.add(text_record(RESIDENT, "楼道灯坏了"), publickey_ver=1)
    assert other.pull_once() is None and arc.cursor() == 1
    arc.channel.lock.release()  # the first instance stops
    assert other.pull_once().records == 1 and arc.cursor() == 2
    other.lock.release()


def _wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_linli_serve_pulls_when_the_archive_calls_back_and_the_owner_receives_the_answer(archive_settings, fake_archive,
                                                                                         fake, serve_app):
    from bots.runtime import Runtime

    settings = archive_settings.model_copy(update={"run_outbox": True, "outbox_poll_seconds": 0.05,
                                                   "wecom_archive_pull_interval_seconds": 3600})
    runtime = Runtime(settings)
    runtime.archive_source = fake_archive
    app = create_app(runtime=runtime)
    channel = app.state.wecom_archive
    with serve_app(app) as server:
        _wait_for(lambda: channel.last_report is not None, "the first pull at start-up")
        fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
        fake_archive.add(text_record(RESIDENT, "楼上漏水到我家了，墙皮都泡起来了"), publickey_ver=2)
        envelope = Envelope(ARCHIVE_TOKEN, ARCHIVE_AES_KEY, CORP_ID)
        ts, nonce = str(int(time.time())), "n2"
        inner = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>{ts}</CreateTime>"
                 "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[msgaudit_notify]]></Event></xml>")
        encrypt, sig = envelope.seal(inner, ts, nonce)
        response = httpx.post(f"{server.url}/webhooks/wecom-archive", params={"msg_signature": sig, "timestamp": ts, "nonce": nonce},
                              content=f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        assert response.status_code == 200
        [note] = _wait_for(lambda: sent_to_worker(fake), "the answer to reach the group's owner")
        assert note.startswith(f"请在「{TITLE}」回复：\n已收到您的诉求，编号 #1")
    with Session(runtime.engine) as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == 1
    runtime.engine.dispose()


async def test_bad_records_of_a_key_added_later_are_read_when_the_puller_starts_again(archive_settings, fake_archive, key_pems):
    fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
    late = fake_archive.add(text_record(RESIDENT, "小区里的井盖丢了"), publickey_ver=3)
    first = Archived(archive_settings, fake_archive)
    first.pull()
    assert first.kept()[late.msgid][0] == "bad" and first.tickets() == []
    await first.close()
    with_key = archive_settings.model_copy(update={"wecom_archive_private_keys": {
        **archive_settings.wecom_archive_private_keys, 3: key_pems[3]}})
    second = Archived(with_key, fake_archive)
    try:
        assert second.pull().records == 0  # nothing new in the archive …
        assert late.msgid not in second.kept() and [t.text for t in second.tickets()] == ["小区里的井盖丢了"]
        assert second.cursor() == 2
    finally:
        await second.close()


async def test_an_instance_that_only_accepts_leaves_the_messages_to_the_inbox_workers(archive_settings, fake_archive):
    arc = Archived(archive_settings.model_copy(update={"run_inbox": False}), fake_archive)
    try:
        fake_archive.add(consent_record(RESIDENT), publickey_ver=1)
        fake_archive.add(text_record(RESIDENT, "楼上漏水到我家了"), publickey_ver=1)
        assert arc.pull().stored == 1 and arc.tickets() == []
        assert arc.count(InboxMessage, InboxMessage.status == "received") == 1
        assert arc.runtime.process_waiting() == 1 and len(arc.tickets()) == 1  # what another instance's worker does
    finally:
        await arc.close()
