"""The normalised message refuses what it cannot carry and cleans what it can."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.message import MAX_TEXT_CHARS, Message, split_chat_key


def _msg(**kw):
    base = dict(platform="telegram", chat_id="-100", message_id="1", sender_id="7")
    return Message(**(base | kw))


def test_chat_key_is_platform_colon_chat_id():
    assert _msg().chat_key == "telegram:-100"
    assert split_chat_key("wecom-bot:wrk:with:colons") == ("wecom-bot", "wrk:with:colons")
    with pytest.raises(ValueError, match="platform:chat_id"):
        split_chat_key("nochat")


def test_text_over_the_limit_is_refused_with_the_limit_named():
    with pytest.raises(ValidationError, match=str(MAX_TEXT_CHARS)):
        _msg(text="漏" * (MAX_TEXT_CHARS + 1))


def test_control_characters_are_removed_but_newlines_kept():
    assert _msg(text="楼上\x00漏水\x07\n到我家").text == "楼上漏水\n到我家"


def test_voice_transcript_is_the_content_when_there_is_no_text():
    assert _msg(text="", voice_transcript="楼道灯坏了").content == "楼道灯坏了"


def test_missing_ids_are_refused():
    with pytest.raises(ValidationError):
        _msg(chat_id="")
