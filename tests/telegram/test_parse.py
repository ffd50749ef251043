"""Bot API updates (as Telegram documents them) become normalised Messages."""

from __future__ import annotations

import pytest

from adapters.base import MalformedPayload, PayloadTooLarge
from adapters.telegram.adapter import parse_update
from core.message import AttachmentKind, MessageKind

BOT_ID = 123456789
GROUP = -1001234567890


def parse(update):
    return parse_update(update, bot_id=BOT_ID)


def test_group_text_names_chat_sender_and_time(updates):
    m = parse(updates.text("楼上漏水", user_id=300000001))
    assert (m.platform, m.chat_id, m.sender_id, m.sender_name) == ("telegram", str(GROUP), "300000001", "张 阿姨")
    assert m.kind is MessageKind.MESSAGE and m.is_group and not m.addressed_to_bot
    assert m.chat_key == f"telegram:{GROUP}" and m.sent_at.timestamp() == 1767225600
    assert m.thread_id is None and m.reply_to_message_id is None


def test_private_chat_is_addressed_to_the_bot(updates):
    m = parse(updates.text("你好", chat_id=300000001))
    assert not m.is_group and m.addressed_to_bot and m.chat_id == "300000001"


def test_forum_topic_message_keeps_its_topic_and_is_not_a_reply_to_the_topic_root(updates):
    m = parse(updates.text("电梯坏了", thread_id=77))
    assert m.thread_id == "77" and m.reply_to_message_id is None


def test_reply_chain_in_an_ordinary_supergroup_is_a_reply_not_a_topic(updates):
    bot_message = updates.message("已收到", user_id=BOT_ID)
    bot_message["from"]["is_bot"] = True
    update = updates.text("谢谢", reply_to=bot_message, message_thread_id=bot_message["message_id"])
    m = parse(update)
    assert m.thread_id is None
    assert m.reply_to_message_id == str(bot_message["message_id"])
    assert m.addressed_to_bot  # a reply to the bot speaks to it


def test_edited_message_is_an_edit_of_the_same_message_at_its_edit_time(updates):
    original = updates.message("楼上漏水")
    m = parse(updates.edited(original, "楼上漏水很严重"))
    assert m.kind is MessageKind.EDIT and m.message_id == str(original["message_id"])
    assert m.text == "楼上漏水很严重" and m.sent_at.timestamp() == original["date"] + 60


def test_photo_caption_is_the_text_and_the_largest_photo_is_attached(updates):
    photo = [{"file_id": "small", "file_unique_id": "a", "width": 90, "height": 67, "file_size": 1000},
             {"file_id": "large", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 90000}]
    m = parse(updates.update(message=updates.message(None, photo=photo, caption="路灯坏了 @wangfang",
                                                     caption_entities=[{"type": "mention", "offset": 5, "length": 9}])))
    assert m.text == "路灯坏了 @wangfang" and m.mentions == ["@wangfang"]
    assert [(a.kind, a.ref) for a in m.attachments] == [(AttachmentKind.IMAGE, "large")]


def test_mentions_count_utf16_offsets(updates):
    text = "😀漏水 @wangfang"  # the emoji is two UTF-16 units
    m = parse(updates.text(text, entities=[{"type": "mention", "offset": 5, "length": 9}]))
    assert m.mentions == ["@wangfang"]


def test_location_and_venue_become_location_attachments(updates):
    m = parse(updates.update(message=updates.message(None, location={"latitude": 39.9, "longitude": 116.4})))
    (a,) = m.attachments
    assert (a.kind, a.latitude, a.longitude) == (AttachmentKind.LOCATION, 39.9, 116.4) and m.text == ""
    venue = {"location": {"latitude": 39.9, "longitude": 116.4}, "title": "幸福里3栋", "address": "和平路1号"}
    m = parse(updates.update(message=updates.message(None, location=venue["location"], venue=venue)))
    (a,) = m.attachments
    assert a.kind is AttachmentKind.LOCATION and a.label == "幸福里3栋 和平路1号"


def test_button_press_is_an_action_keyed_by_the_callback_id(updates):
    card = updates.message("已收到您的诉求，编号 #1", user_id=BOT_ID, thread_id=77)
    update = updates.press("t:confirm:1", card, user_id=200000001)
    m = parse(update)
    assert m.kind is MessageKind.ACTION and m.action_data == "t:confirm:1"
    assert m.message_id == update["callback_query"]["id"] and m.sender_id == "200000001"
    assert m.reply_to_message_id == str(card["message_id"]) and m.thread_id == "77"


def test_bot_added_and_removed(updates):
    def change(old, new):
        return updates.update(my_chat_member={
            "chat": updates.chat(GROUP), "from": updates.user(200000001), "date": 1767225600,
            "old_chat_member": {"status": old, "user": {"id": BOT_ID, "is_bot": True, "first_name": "邻里助手"}},
            "new_chat_member": {"status": new, "user": {"id": BOT_ID, "is_bot": True, "first_name": "邻里助手"}},
        })

    added = parse(change("left", "member"))
    assert (added.kind, added.event, added.chat_id) == (MessageKind.EVENT, "bot_added", str(GROUP))
    assert parse(change("member", "kicked")).event == "bot_removed"
    assert parse(change("member", "administrator")).event == "bot_status_changed"
    joined = parse(updates.update(message=updates.message(None, new_chat_members=[{"id": BOT_ID, "is_bot": True, "first_name": "邻里助手"}])))
    assert joined.event == "bot_added"


def test_migration_is_one_event_seen_from_either_side(updates):
    old = parse(updates.update(message=updates.message(None, chat_id=-987654, migrate_to_chat_id=GROUP)))
    new = parse(updates.update(message=updates.message(None, chat_id=GROUP, migrate_from_chat_id=-987654)))
    for m in (old, new):
        assert (m.kind, m.event) == (MessageKind.EVENT, "chat_migrated")
        assert m.event_data == {"from_chat_id": "-987654", "to_chat_id": str(GROUP)}


def test_updates_linli_does_not_use_are_ignored(updates):
    assert parse(updates.update(channel_post=updates.message("频道消息", chat_id=-1009999))) is None
    assert parse(updates.update(poll={"id": "1", "question": "?", "options": []})) is None


@pytest.mark.parametrize("body", [[], "x", {"message": {}}, {"update_id": "x"}, {"update_id": 1, "message": {"message_id": 1}}])
def test_malformed_bodies_are_refused(body):
    with pytest.raises(MalformedPayload):
        parse(body)


def test_text_over_the_limit_is_413(updates):
    with pytest.raises(PayloadTooLarge):
        parse(updates.text("漏" * 4001))
