"""Who hears what: staff notices (催办, 督办, 重办, 提醒, emergencies for the level above) go only to
staff rooms (``audience: staff`` in the grids file) that a configured channel can post into; a
residents' group hears at most 「已催促办理」; and nobody is told 「已通知」 unless it was queued."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bots.channels import notice_receiver
from config.settings import CONFIG_DIR, Settings
from core.grids import GridsFileError, read_grids_file
from core.models import Chat
from core.ticket_states import TicketState as S

DEMO = "playground:demo"
COMMUNITY_ROOM = "playground:xingfu-staff"
STREET_ROOM = "playground:heping-staff"
EXAMPLE = CONFIG_DIR / "grids.example.yaml"
STAFF_MARKS = ("【", "催办", "督办", "提醒", "重办", "没有可接收")


def residents_rows(hood) -> list:
    """Everything the bot queued for chats that are not staff rooms."""
    with Session(hood.runtime.engine) as s:
        residents = {c.key for c in s.exec(select(Chat).where(Chat.audience != "staff"))}
    return [r for r in hood.outbox() if r.chat_key in residents]


def grids_without(tmp_path: Path, *chats: str) -> Path:
    """The example grids file without the named chats (e.g. as it was before it had playground staff rooms)."""
    lines = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if not any(f'"{c}"' in line for c in chats)]
    path = tmp_path / "grids.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_no_staff_notice_reaches_a_residents_group_over_a_whole_loop(hood):
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    (ticket,) = hood.tickets()
    created = hood.ticket(ticket.id).created_at
    hood.clock.now = created + timedelta(hours=5)  # past the confirm time: 待确认提醒
    hood.sweep()
    hood.say("wangfang", f"确认 {ticket.id}")
    hood.say("wangfang", f"派单 {ticket.id}")
    for hours in (25, 37, 49, 74):  # blue 提醒, yellow 催办, red 督办 to the community, then the street
        hood.clock.now = created + timedelta(hours=hours)
        hood.sweep()
    hood.say("wangfang", f"办结 {ticket.id} 已修好")
    hood.say("zhang", "3")  # 不满意: 重办
    staff = [r.payload["text"] for r in hood.outbox() if r.chat_key in (COMMUNITY_ROOM, STREET_ROOM)]
    for mark in ("【待确认提醒】", "【提醒】", "【黄灯催办】", "【红灯督办】", "【重办】"):
        assert any(t.startswith(mark) for t in staff), mark
    assert any(t.startswith("【红灯督办】") for t in (r.payload["text"] for r in hood.outbox(STREET_ROOM)))
    for row in residents_rows(hood):
        assert not any(mark in row.payload["text"] for mark in STAFF_MARKS), row.payload["text"]
    assert len(hood.outbox(DEMO, contains="已催促办理")) == 2  # one per level the red 督办 climbed


def test_an_emergency_says_the_level_above_was_told_only_when_a_room_could_receive_it(make_neighbourhood, tmp_path):
    # The example as it was: the upper levels' only staff room is WeCom, and no WeCom channel is configured.
    hood = make_neighbourhood(classify=None, grids_file=grids_without(tmp_path, COMMUNITY_ROOM, STREET_ROOM))
    replies = hood.say("zhang", "3栋502着火了，冒烟很大！")
    (ticket,) = hood.tickets()
    answer = replies[0]
    assert "119" in answer.text and f"#{ticket.id}" in answer.text
    assert "已通知" not in answer.text and "上级" not in answer.text
    assert hood.outbox("wecom:grid-workers") == []  # nothing queued that no channel can send
    # the grid worker (in this group: there is no staff room to reach) hears what failed and what to do
    (missed,) = [r for r in replies if "没有可接收的群" in r.text]
    assert missed.chat_id == "demo" and "上级（幸福社区）" in missed.text and "请电话联系" in missed.text
    assert any(e.data.get("undeliverable") for e in hood.events(ticket.id, "note"))


def test_with_a_configured_street_channel_the_same_emergency_is_told_and_says_so(make_neighbourhood, tmp_path):
    hood = make_neighbourhood(classify=None, grids_file=grids_without(tmp_path, COMMUNITY_ROOM))
    replies = hood.say("zhang", "3栋502着火了，冒烟很大！")
    assert "已通知网格员王芳和上级" in replies[0].text
    assert [r.chat_id for r in replies[1:]] == ["heping-staff"]  # both levels' nearest staff room, once


def test_escalating_to_a_level_without_a_receiving_room_tells_the_worker_and_not_the_residents(make_neighbourhood, tmp_path):
    hood = make_neighbourhood(grids_file=grids_without(tmp_path, STREET_ROOM))
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"确认 {ticket.id}")
    (to_community,) = [r for r in hood.say("wangfang", f"上报 {ticket.id} 物业不配合") if r.chat_id == "demo"]
    assert "已上报幸福社区督办" in to_community.text
    residents_before = len(residents_rows(hood))
    (to_street,) = hood.say("wangfang", f"上报 {ticket.id} 社区也协调不了")
    assert to_street.chat_id == "demo"
    assert to_street.text == f"#{ticket.id} 的通知没有发出：上级（和平街道）没有可接收的群，请电话联系。"
    assert hood.ticket(ticket.id).escalation_level == "street"  # recorded all the same
    assert len(residents_rows(hood)) == residents_before + 1  # only that answer to the worker


def test_the_sweeps_red_to_a_level_without_a_receiving_room_is_reported_in_the_staff_room(make_neighbourhood, tmp_path):
    hood = make_neighbourhood(grids_file=grids_without(tmp_path, STREET_ROOM))
    hood.say("zhang", "3栋电梯坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"确认 {ticket.id}")
    hood.clock.now = hood.ticket(ticket.id).resolve_due_at + timedelta(minutes=1)
    assert hood.sweep().done == {"red": 1}  # to the community: its staff room hears it
    assert hood.outbox(COMMUNITY_ROOM, contains="【红灯督办】")
    hood.clock.advance(hours=24)
    assert hood.sweep().done == {"red": 1}  # to the street, which has no room the bot can post into
    assert hood.ticket(ticket.id).escalation_level == "street"
    (missed,) = hood.outbox(COMMUNITY_ROOM, contains="没有可接收的群")
    assert "上级（和平街道）" in missed.payload["text"]
    assert len(hood.outbox(DEMO, contains="已催促办理")) == 1  # the street's 督办 was not sent, so not claimed


@pytest.mark.parametrize("with_staff_rooms", [True, False])
def test_an_unhappy_survey_says_the_worker_was_told_only_when_it_was(make_neighbourhood, tmp_path, with_staff_rooms):
    grids_file = EXAMPLE if with_staff_rooms else grids_without(tmp_path, COMMUNITY_ROOM, STREET_ROOM)
    hood = make_neighbourhood(grids_file=grids_file)
    hood.say("zhang", "3栋门禁坏了")
    (ticket,) = hood.tickets()
    hood.say("wangfang", f"办结 {ticket.id} 已修好")
    replies = hood.say("zhang", "3")
    (reopened,) = [r for r in replies if "已重新打开" in r.text]
    assert ("已通知网格员王芳" in reopened.text) is with_staff_rooms, reopened.text
    assert [r.chat_id for r in replies if r.text.startswith("【重办】")] == (["xingfu-staff"] if with_staff_rooms else [])
    assert hood.ticket(ticket.id).state is S.IN_PROGRESS


@pytest.mark.parametrize("configured", [True, False])
def test_a_group_robot_room_receives_notices_only_when_its_webhook_is_configured(make_neighbourhood, tmp_path, configured):
    path = grids_without(tmp_path, STREET_ROOM)  # the community's staff room is a WeCom group robot
    path.write_text(path.read_text(encoding="utf-8").replace(f'"{COMMUNITY_ROOM}"', '"wecom-robot:xingfu"'), encoding="utf-8")
    robots = {"wecom_robot_webhooks": "xingfu=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"} if configured else {}
    hood = make_neighbourhood(grids_file=path, **robots)
    hood.say("zhang", "3栋电梯坏了")
    replies = hood.say("wangfang", "定级 1 紧急")
    assert bool(hood.outbox("wecom-robot:xingfu", contains="【紧急】#1")) is configured
    assert any("没有可接收的群" in r.text for r in replies) is not configured


def test_notice_receiver_follows_the_configured_channels():
    base = Settings(_env_file=None)
    assert notice_receiver(base)("playground:xingfu-staff")
    assert not notice_receiver(base)("wecom:grid-workers")
    assert not notice_receiver(base)("telegram:-100")
    assert notice_receiver(base.model_copy(update={"telegram_token": "1:AA"}))("telegram:-100")
    wecom = base.model_copy(update={"wecom_corp_id": "c", "wecom_token": "t", "wecom_aes_key": "k" * 43})
    assert not notice_receiver(wecom)("wecom:grid-workers")  # receives, but cannot send without the secret
    assert notice_receiver(wecom.model_copy(update={"wecom_agent_id": "1", "wecom_secret": "s"}))("wecom:grid-workers")
    bot = base.model_copy(update={"wecom_bot_token": "t", "wecom_bot_aes_key": "k" * 43})
    assert not notice_receiver(bot)("wecom-bot:wrk1")  # answers only through a recent message's response_url


def test_the_grids_file_marks_staff_rooms_and_refuses_an_unknown_audience(tmp_path):
    spec = read_grids_file(EXAMPLE)
    staff = {c.chat: c.grid for c in spec.chats if c.audience == "staff"}
    assert staff[COMMUNITY_ROOM] == "xingfu" and staff[STREET_ROOM] == "heping"
    assert all(c.audience == "residents" for c in spec.chats if c.chat in (DEMO, "telegram:-1001234567890"))
    bad = tmp_path / "grids.yaml"
    bad.write_text("grids: [{id: d, name: 区, level: district}]\n"
                   "chats: [{chat: 'telegram:-1', grid: d, audience: workers}]\n", encoding="utf-8")
    with pytest.raises(GridsFileError) as err:
        read_grids_file(bad)
    assert "chat 'telegram:-1'" in str(err.value) and "'residents' or 'staff'" in str(err.value) and "'workers'" in str(err.value)
