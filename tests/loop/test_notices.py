"""「通知 …」: a grid worker's notice reaches every residents' group of their grid and below through the
outbox, is recorded with who sent it and where it went, and residents' replies are ordinary messages."""

from __future__ import annotations

from sqlmodel import Session, select

from core.notices import Notice, NoticeChat

WATER = "明天上午8点到12点停水，请提前储水"


def _in(replies, room: str) -> list:
    return [r for r in replies if r.chat_id == room]


def _notices(hood) -> list[tuple[Notice, list[str]]]:
    with Session(hood.runtime.engine) as s:
        return [(n, [c.chat_key for c in s.exec(select(NoticeChat).where(NoticeChat.notice_id == n.id))])
                for n in s.exec(select(Notice).order_by(Notice.id))]


def test_a_street_workers_notice_reaches_every_residents_group_below_and_no_staff_room(hood):
    replies = hood.say("heping-center", f"通知 {WATER}", room="heping-staff")
    (ack,) = _in(replies, "heping-staff")
    assert len(replies) == 3
    assert "通知已发往和平街道的2个居民群" in ack.text and "幸福里3栋邻里群" in ack.text and "安乐家园互助群" in ack.text
    assert "另有" in ack.text and "没有发出" in ack.text  # the Telegram and WeCom groups have no channel here
    for room in ("demo", "anle"):
        (row,) = hood.outbox(f"playground:{room}", contains="【通知】")
        assert row.payload["text"] == f"【通知】{WATER}\n——和平街道指挥中心"
        assert row.ticket_id is None
    assert hood.outbox("playground:xingfu-staff", contains="【通知】") == []
    assert hood.outbox("playground:heping-staff", contains="【通知】") == []
    assert hood.deliver() >= 3
    (notice, chats), = _notices(hood)
    assert (notice.sender_key, notice.grid_id, notice.via, notice.text) == (
        "playground:heping-center", "heping", "playground:heping-staff", WATER)
    assert sorted(chats) == ["playground:anle", "playground:demo"]
    assert notice.created_at is not None


def test_a_grid_worker_notices_only_her_own_grid_and_may_write_a_colon(hood):
    hood.say("wangfang", f"通知：{WATER}", room="demo")
    (notice, chats), = _notices(hood)
    assert notice.grid_id == "xingfu-1" and chats == ["playground:demo"] and notice.text == WATER
    assert hood.outbox("playground:anle", contains="【通知】") == []
    hood.say("wangfang", "／ｎｏｔｉｃｅ　周五消防检查", room="demo")  # the slash form, typed full-width
    assert [n.text for n, _ in _notices(hood)] == [WATER, "周五消防检查"]


def test_residents_and_volunteers_are_refused_and_told_who_may_send(hood):
    (refusal,) = hood.say("zhang", f"通知 {WATER}")
    assert refusal.text == "抱歉，张阿姨，「通知」只有网格员和管理员可以发布，请联系网格员王芳。"
    (refusal,) = hood.say("volunteer-liu", f"通知 {WATER}")
    assert "只有网格员和管理员可以发布" in refusal.text
    assert _notices(hood) == [] and hood.outbox(contains="【通知】") == []
    (usage,) = hood.say("wangfang", "通知")
    assert "请在「通知」后面写上内容" in usage.text
    assert hood.say("zhang", "通知一下大家，明天楼下有义诊") == []  # speech, not the command: chatter gets silence


def test_a_residents_reply_to_a_notice_is_classified_like_any_message(hood):
    hood.say("wangfang", f"通知 {WATER}", room="demo")
    hood.deliver()
    (row,) = hood.outbox("playground:demo", contains="【通知】")
    assert row.platform_message_id
    (filed,) = _in(hood.say("zhang", "我家楼上漏水到我家了，停水前能修吗", reply_to=row.platform_message_id), "demo")
    assert "已收到您的诉求" in filed.text
    assert len(hood.tickets()) == 1
    assert hood.say("lisi", "收到，谢谢", reply_to=row.platform_message_id) == []  # chatter stays silent
