"""Every kind of event the code writes on a ticket's trail is said in Chinese under its own name."""

from __future__ import annotations

import re
from pathlib import Path

from bots.console.audit import describe
from core.models import TicketEvent

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r"\brecord\(\s*[\w.]+\s*,\s*[\w.]+\s*,\s*[^,]+,\s*\"([a-z_]+)\"")


def recorded_kinds() -> set[str]:
    """The event kinds passed to core.tickets.record anywhere in core/ and bots/."""
    kinds: set[str] = set()
    for folder in ("core", "bots"):
        for path in (ROOT / folder).rglob("*.py"):
            kinds |= set(RECORDED.findall(path.read_text(encoding="utf-8")))
    return kinds


def test_the_source_scan_finds_the_kinds_written_today():
    assert {"edited", "assign", "escalate", "comment", "info", "note", "survey"} <= recorded_kinds()


def test_every_recorded_kind_has_a_chinese_label_of_its_own():
    for kind in sorted(recorded_kinds()):
        what, _ = describe(TicketEvent(ticket_id=1, actor="playground:zhang", kind=kind, note="", data={}), {})
        assert what and what != kind and not re.search(r"[a-z]{3,}", what), (kind, what)


def test_an_edited_report_is_labelled_as_an_edit_of_the_request():
    event = TicketEvent(ticket_id=1, actor="playground:zhang", kind="edited", note="楼上漏水很严重", data={"before": "楼上漏水"})
    assert describe(event, {}) == ("修改诉求内容", "楼上漏水很严重")
