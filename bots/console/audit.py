"""A ticket's audit trail in plain Chinese: one line per event, 「系统：超时督办（红灯），已上报街道」.

The trail itself (core.models.TicketEvent) keeps machine words (``sla red``, ``escalate street``);
this module only says them the way a command centre reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.grids import LEVEL_LABELS, Level
from core.models import TicketEvent
from core.taxonomy import Category, Urgency
from core.ticket_states import STATE_LABELS, TicketState

SYSTEM = "system"
SYSTEM_NAME = "系统"
# What entering a state means when someone moves a ticket there.
ENTERED = {
    TicketState.PENDING: "退回待受理", TicketState.CONFIRMED: "受理", TicketState.ASSIGNED: "派单",
    TicketState.IN_PROGRESS: "开始处理", TicketState.RESOLVED: "办结", TicketState.CLOSED: "关闭",
    TicketState.REJECTED: "不予受理", TicketState.DUPLICATE: "合并为重复诉求", TicketState.REFERRED: "转交其他渠道",
    TicketState.WITHDRAWN: "撤回",
}
SLA_WARNINGS = {"confirm": "超时未受理提醒", "blue": "到期前提醒（蓝灯）", "yellow": "催办（黄灯）", "red": "超时督办（红灯）"}
SIMPLE = {
    "reporter": "又有人反映同一问题", "note": "进展", "comment": "备注", "edited": "修改诉求内容",
    "chat_migrated": "群已升级，改在新群通知", "survey": "回访", "location": "补充位置",
    "survey_unclear": "回访答复未能识别为评分",
}


@dataclass(frozen=True)
class AuditLine:
    """One event as shown: when, who (a name or 系统), what happened, and its note."""

    at: datetime
    who: str
    what: str
    note: str = ""
    kind: str = ""

    @property
    def headline(self) -> str:
        return f"{self.who}：{self.what}"


def level_label(level: str | None) -> str:
    """community/street/district → 社区/街道/区 (an unknown word is shown as it is)."""
    try:
        return LEVEL_LABELS[Level(level or "")]
    except ValueError:
        return level or ""


def _label(enum, value: str | None) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value or ""


def _state(value: str | None) -> str:
    try:
        return STATE_LABELS[TicketState(value or "")]
    except ValueError:
        return value or ""


def describe(event: TicketEvent, names: Mapping[str, str]) -> tuple[str, str]:
    """What an event says, and the note to show under it."""
    kind, data, note = event.kind, event.data or {}, event.note or ""
    if kind == "created":
        return f"登记诉求（{_state(event.to_state)}）", note
    if kind in ("transition", "reopen"):
        try:
            target = TicketState(event.to_state or "")
        except ValueError:
            return f"状态改为 {event.to_state}", note
        verb = "重新办理" if kind == "reopen" else ENTERED.get(target, f"状态改为{target.label}")
        return f"{verb}（{_state(event.from_state)} → {target.label}）", note
    if kind == "sla":
        return SLA_WARNINGS.get(note, f"时限提醒（{note}）"), ""
    if kind == "escalate":
        return f"上报{level_label(data.get('level'))}", note
    if kind == "assign":
        parts = [data.get("department") or "", names.get(data.get("assignee") or "", data.get("assignee") or "")]
        whom = " · ".join(w for w in parts if w)
        return (f"派单给 {whom}" if whom else "派单"), note
    if kind == "reclassify":
        return f"改类：{_label(Category, data.get('from'))} → {_label(Category, data.get('to'))}", note
    if kind == "urgency":
        return f"紧急程度：{_label(Urgency, data.get('from'))} → {_label(Urgency, data.get('to'))}", note
    if kind == "info":
        return ("同一问题又有人反映" if data.get("duplicate") else "补充信息"), note
    if kind == "merged":
        return f"合并了 {note}", ""
    if kind == "note" and event.actor == SYSTEM:
        return "提示", note
    return SIMPLE.get(kind, kind), note


def audit_lines(events: Sequence[TicketEvent], names: Mapping[str, str]) -> list[AuditLine]:
    """The trail in order. A red warning and the escalation it caused (same moment, by the system) are one line:
    「超时督办（红灯），已上报街道」."""
    escalated_at: dict[datetime, TicketEvent] = {}
    for event in events:
        if event.kind == "escalate" and event.actor == SYSTEM:
            escalated_at.setdefault(event.created_at, event)
    folded = {id(escalated_at[e.created_at]) for e in events
              if e.kind == "sla" and e.note == "red" and e.created_at in escalated_at}
    lines: list[AuditLine] = []
    for event in events:
        if id(event) in folded:
            continue
        who = SYSTEM_NAME if event.actor == SYSTEM else names.get(event.actor, event.actor)
        what, note = describe(event, names)
        if event.kind == "sla" and event.note == "red" and event.created_at in escalated_at:
            what += f"，已上报{level_label((escalated_at[event.created_at].data or {}).get('level'))}"
        lines.append(AuditLine(event.created_at, who, what, note, event.kind))
    return lines
