"""A decrypted archive record → what linli does with it.

The record JSON is WeCom's (会话内容存档 · 消息格式): ``msgid``, ``action`` (send / recall /
switch), ``from``, ``tolist``, ``roomid`` (empty for 1:1 chats), ``msgtime`` (ms), ``msgtype``
and a body named after the type. Sender ids tell who is who: external contacts (residents on
personal WeChat) start with ``wo``/``wm``, robots with ``wb``, members (grid workers) are
plain userids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from adapters.wecom_archive import PLATFORM
from core.archive import ConsentChange, Said
from core.message import Attachment, AttachmentKind, Message, MessageTooLong

NEUTRAL_NAME = "居民"
EXTERNAL_PREFIXES = ("wo", "wm")
ROBOT_PREFIX = "wb"


def is_external(user_id: str) -> bool:
    return user_id.startswith(EXTERNAL_PREFIXES)


@dataclass(frozen=True)
class Dropped:
    """Not for the bot. ``keep``: record it with the reason (a recall); otherwise just count it
    (1:1 chats, robots, the archive's own switch markers)."""

    reason: str
    keep: bool = False
    chat_id: str | None = None
    sender: str | None = None


class BadRecord(ValueError):
    """The JSON is not a record we can read (missing fields, wrong types)."""


Outcome = Said | ConsentChange | Dropped


def _obj(value: Any) -> dict[str, Any]:
    """A body part; mixed and chatrecord items carry theirs as JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"content": value}
    return value if isinstance(value, dict) else {}


def _ms(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadRecord(f"msgtime {value!r} is not a time in milliseconds") from exc


def _location(body: dict[str, Any]) -> tuple[str, Attachment]:
    label = " ".join(p for p in (str(body.get("title") or ""), str(body.get("address") or "")) if p).strip()
    lat: float | None
    lng: float | None
    try:
        lat, lng = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        lat = lng = None
    return f"[位置] {label}".strip(), Attachment(kind=AttachmentKind.LOCATION, label=label or None, latitude=lat, longitude=lng)


_MEDIA = {"image": AttachmentKind.IMAGE, "voice": AttachmentKind.VOICE, "video": AttachmentKind.VIDEO,
          "file": AttachmentKind.FILE, "emotion": AttachmentKind.STICKER}


def _part(kind: str, body: dict[str, Any]) -> tuple[str, list[Attachment]]:
    """Text and attachments of one part (a message body, a mixed item, a chat-record item)."""
    kind = kind.lower().removeprefix("chatrecord")
    if kind == "text":
        return str(body.get("content") or ""), []
    if kind == "markdown":
        return str(body.get("info", {}).get("content") if isinstance(body.get("info"), dict) else body.get("content") or ""), []
    if kind in _MEDIA:
        # media are referred to by sdkfileid; downloading them (source.media) is left to a media store
        label = body.get("filename") or None
        return "", [Attachment(kind=_MEDIA[kind], ref=body.get("sdkfileid") or None, label=label)]
    if kind == "location":
        text, attachment = _location(body)
        return text, [attachment]
    if kind == "link":
        title = str(body.get("title") or "")
        return f"[链接] {title}".strip(), [Attachment(kind=AttachmentKind.LINK, ref=body.get("link_url") or None, label=title or None)]
    if kind in ("mixed", "chatrecord", ""):
        return _items(body, heading=str(body.get("title") or "") if kind != "mixed" else "")
    return "", [Attachment(kind=AttachmentKind.OTHER, label=kind)]


def _items(body: dict[str, Any], heading: str) -> tuple[str, list[Attachment]]:
    lines = [f"[聊天记录] {heading}"] if heading else []
    attachments: list[Attachment] = []
    items = body.get("item") or []
    if not isinstance(items, list):
        raise BadRecord("item is not a list")
    for item in items:
        if not isinstance(item, dict):
            continue
        text, more = _part(str(item.get("type") or ""), _obj(item.get("content")))
        if text:
            lines.append(text)
        attachments += more
    return "\n".join(lines), attachments


def parse(record: dict[str, Any], names: Callable[[str], str] = lambda _: NEUTRAL_NAME) -> Outcome:
    """What to do with one decrypted record. ``names(external_userid)`` names a resident.

    Raises :class:`BadRecord` for a record whose fields make no sense."""
    msgid = record.get("msgid")
    if not isinstance(msgid, str) or not msgid:
        raise BadRecord("record has no msgid")
    action = record.get("action")
    if action == "switch":
        return Dropped("switch marker (the archive switched enterprises)")
    msgtype = str(record.get("msgtype") or "")
    if msgtype in ("agree", "disagree"):
        body = _obj(record.get(msgtype))
        user = body.get("userid") or record.get("from")
        if not isinstance(user, str) or not user:
            raise BadRecord(f"{msgtype} without a userid")
        # agree_time / disagree_time: ms, like msgtime
        return ConsentChange(user, msgtype == "agree", _ms(body.get(f"{msgtype}_time") or record.get("msgtime")), msgid)
    sender = record.get("from")
    if not isinstance(sender, str) or not sender:
        raise BadRecord("record has no sender (from)")
    room = record.get("roomid") or ""
    if not isinstance(room, str):
        raise BadRecord("roomid is not a string")
    if not room:
        return Dropped("1:1 chat (no roomid)", sender=sender)
    if sender.startswith(ROBOT_PREFIX):
        return Dropped("a robot's message", chat_id=room, sender=sender)
    if action == "recall":
        earlier = _obj(record.get("revoke")).get("pre_msgid") or "an earlier message"
        return Dropped(f"recall of {earlier}", keep=True, chat_id=room, sender=sender)
    text, attachments = _part(msgtype, _obj(record.get(msgtype)))
    external = is_external(sender)
    try:
        message = Message(
            platform=PLATFORM, chat_id=room, message_id=msgid, sender_id=sender,
            sender_name=names(sender) if external else "", is_group=True, text=text.strip(), attachments=attachments,
            sent_at=_ms(record.get("msgtime")),
            raw={"msgtype": msgtype, "roomid": room, "from": sender, "seq": record.get("seq")},
        )
    except MessageTooLong:
        message = None
    except ValidationError as exc:
        raise BadRecord("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    if message is None:
        return Dropped("message longer than 4,000 characters", keep=True, chat_id=room, sender=sender)
    return Said(message, needs_consent=external)
