"""Who may read a ticket in a chat (查询 N, /status N, 我的诉求): its reporters, the person it was
filed for, the care centre that filed it, and staff whose grid covers it. Everyone else, in any
chat or platform, gets exactly the answer a number that does not exist gets."""

from __future__ import annotations

import itertools

from core.message import Message

TELEGRAM_GROUP = "-1001234567890"  # bound to 幸福社区第一网格 (xingfu-1), as room demo is
OFFICIAL_ACCOUNT = "wx1234567890abcdef"  # wechat:<app id>, a 1:1 channel bound to 幸福社区
_ids = itertools.count(1)


def ask(hood, platform: str, chat_id: str, sender: str, text: str, *, is_group: bool = True) -> str:
    """``sender`` writes ``text`` in a chat of any platform; the one reply's text."""
    message = Message(platform=platform, chat_id=chat_id, message_id=f"w{next(_ids)}", sender_id=sender,
                      sender_name=sender, text=text, is_group=is_group, sent_at=hood.clock.now)
    (reply,) = hood.runtime.ingest_sync(message).replies
    return reply.text


def not_found(hood, number: int) -> str:
    """What the bot says for a number no ticket has, as it would read for ``number``."""
    return ask(hood, "playground", "demo", "liu", "查询 987654").replace("987654", str(number))


def test_a_ticket_is_shown_to_its_reporter_and_its_grid_staff_and_to_nobody_else(hood):
    hood.say("zhang", "3栋电梯坏了，电话13912345678")
    seen = "#1【待确认】物业服务"
    assert seen in ask(hood, "playground", "demo", "zhang", "查询 1")
    assert seen in ask(hood, "playground", "demo", "zhang", "/status 1")
    assert seen in ask(hood, "playground", "demo", "wangfang", "查询 1")  # grid worker of xingfu-1
    assert seen in ask(hood, "playground", "demo", "chenshuji", "查询 1")  # the community above it
    assert seen in ask(hood, "playground", "demo", "admin", "查询 1")  # the district
    assert seen in ask(hood, "telegram", TELEGRAM_GROUP, "200000001", "/status 1")  # 王芳 on Telegram, same grid

    hidden = not_found(hood, 1)
    assert hidden == "没有找到编号 #1 的诉求，请核对编号；发「我的诉求」可以查看您反映过的编号。"
    assert ask(hood, "playground", "demo", "liu", "查询 1") == hidden  # another resident of the same group
    assert ask(hood, "playground", "demo", "stranger", "/status 1") == hidden  # someone undeclared
    assert ask(hood, "playground", "anle", "zhaomin", "查询 1") == hidden  # another grid's worker, own chat
    assert ask(hood, "playground", "demo", "zhaomin", "查询 1") == hidden  # … or in this grid's chat
    assert ask(hood, "playground", "anle", "zhang", "查询 1") == hidden  # the reporter, but in another grid's group
    assert ask(hood, "playground", "anle", "admin", "查询 1") == hidden  # anyone, in another grid's group
    assert ask(hood, "telegram", TELEGRAM_GROUP, "300000999", "查询 1") == hidden  # a Telegram member
    assert ask(hood, "wechat", OFFICIAL_ACCOUNT, "o-stranger", "查询 1", is_group=False) == hidden  # the OA
    assert ask(hood, "wechat", OFFICIAL_ACCOUNT, "o-stranger", "/status 1", is_group=False) == hidden
    # a number beyond any ticket (and beyond PostgreSQL's INTEGER) is just not found
    assert ask(hood, "playground", "demo", "zhang", "查询 99999999999") == not_found(hood, 99999999999)


def test_a_relay_is_shown_to_the_care_centre_and_the_elder_it_was_filed_for(hood):
    hood.say("care", "代办 刘大爷 3栋502 13800138000 需要买药送药")  # 刘大爷 is a declared resident (liu)
    (ticket,) = hood.tickets()
    seen = f"#{ticket.id}【"
    assert seen in ask(hood, "playground", "demo", "care", f"查询 {ticket.id}")
    assert seen in ask(hood, "playground", "demo", "liu", f"查询 {ticket.id}")
    assert f"#{ticket.id}" in ask(hood, "playground", "demo", "liu", "我的诉求")
    assert ask(hood, "playground", "demo", "zhang", f"查询 {ticket.id}") == not_found(hood, ticket.id)
    # a sender who merely calls themselves 刘大爷 is not the elder: undeclared names are chosen by the sender
    impostor = Message(platform="playground", chat_id="demo", message_id="imp", sender_id="fake-liu",
                       sender_name="刘大爷", text=f"查询 {ticket.id}", sent_at=hood.clock.now)
    (reply,) = hood.runtime.ingest_sync(impostor).replies
    assert reply.text == not_found(hood, ticket.id)


def test_my_requests_lists_only_what_may_be_shown_in_this_chat(hood):
    hood.say("zhang", "3栋电梯坏了")
    hood.say("liu", "5号楼垃圾没人清运")
    mine = ask(hood, "playground", "demo", "zhang", "我的诉求")
    assert "#1【待确认】" in mine and "#2" not in mine
    # in another grid's group the answer would be read by its members: nothing is listed there
    assert ask(hood, "playground", "anle", "zhang", "我的诉求") == ask(hood, "playground", "anle", "nobody", "我的诉求")


def test_a_care_centre_relays_only_into_chats_of_its_own_grids(hood):
    # 幸福居家养老服务中心 serves 幸福社区; room anle belongs to 安乐社区
    (refused,) = hood.say("care", "代办 张大爷 3栋502 13800138000 需要买药送药", room="anle")
    assert "只能在本中心服务网格的群里" in refused.text
    assert hood.tickets() == []
    (filed,) = hood.say("care", "代办 张大爷 3栋502 13800138000 需要买药送药")  # its own grid's room
    assert "#1" in filed.text and len(hood.tickets()) == 1


def test_an_unreachable_residents_update_reaches_a_group_masked(hood):
    """When a 1:1 update cannot be delivered (WeChat's 48 hours) and the grid has no channel that
    messages workers directly, the note goes to the nearest staff room: masked, like everything in a group."""
    from adapters.playground.adapter import PlaygroundAdapter
    from bots.fallback import tell_grid_worker
    from core import db, outbox
    from core.message import OutgoingReply

    hood.say("zhang", "3栋电梯坏了")
    with db.session_scope(hood.runtime.engine) as s:
        one_to_one = OutgoingReply(platform="wechat", chat_id=OFFICIAL_ACCOUNT, recipient_id="o-resident",
                                   text="#1 已受理，联系人电话 13912345678")
        row = outbox.enqueue(s, one_to_one, dedup_key="unreachable-test", ticket_id=1)
        s.flush()
        assert tell_grid_worker(s, row, "45015", hood.runtime.templates, {"playground": PlaygroundAdapter()}) == 1
    (note,) = hood.outbox("playground:xingfu-staff", contains="无法通过")
    assert "139****5678" in note.payload["text"] and "13912345678" not in note.payload["text"]
