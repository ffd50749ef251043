"""At a few thousand tickets: the overdue list returns the right tickets in the right order
through the open-ticket partial index, and the sweep, which now visits only tickets whose
next warning is due, sends exactly the warnings a visit of every open ticket would, once each."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.deadlines import TicketClock, due_warnings
from core.models import Ticket, TicketEvent, utcnow
from core.search import TicketFilter, iterate
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState

pytestmark = pytest.mark.slow

OPEN = [s for s in TicketState if s.is_open]
DONE = [TicketState.CLOSED, TicketState.REJECTED, TicketState.RESOLVED, TicketState.WITHDRAWN]
CATEGORIES = [Category.PROPERTY, Category.SANITATION, Category.UTILITIES]


def _fill(runtime, n: int, *, open_every: int, now):
    """n tickets in bulk (as bench/scale.py does), one in ``open_every`` open; deadlines from the
    SLA policy, so the stored times are exactly what the bot would have stored."""
    sla = runtime.sweeper.actions.sla
    rows = []
    for i in range(1, n + 1):
        is_open = i % open_every == 0
        state = OPEN[(i // open_every) % len(OPEN)] if is_open else DONE[i % len(DONE)]
        category, urgency = CATEGORIES[i % 3], Urgency.URGENT if i % 7 == 0 else Urgency.NORMAL
        created = now - timedelta(minutes=(i * 7919) % (6 * 24 * 60)) if is_open else now - timedelta(days=30 + i % 300)
        confirm_due, resolve_due = sla.due_dates(category, urgency, created)
        if i % 11 == 0:  # ties on the deadline, broken by number
            created = now - timedelta(hours=40)
            confirm_due, resolve_due = sla.due_dates(category, Urgency.NORMAL, created)
            urgency = Urgency.NORMAL
        rows.append({
            "text": f"楼道灯坏了 {i}", "category": category, "urgency": urgency, "state": state, "confidence": 0.9,
            "grid_id": ["xingfu-1", "xingfu-2", "anle-1"][i % 3], "chat_key": "playground:demo",
            "origin_message_id": f"s{i}", "created_by": "playground:zhang", "created_at": created, "updated_at": created,
            "confirm_due_at": confirm_due, "resolve_due_at": None if i % 13 == 0 else resolve_due,
        })
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(Ticket.__table__), rows)


def test_the_overdue_list_pages_through_every_overdue_open_ticket_soonest_due_first(runtime):
    now = utcnow()
    _fill(runtime, 3000, open_every=10, now=now)
    with Session(runtime.engine) as s:
        every = list(s.exec(select(Ticket)))
        cases = {
            TicketFilter(overdue=True, sort="due"): lambda t: t.state.is_open and t.resolve_due_at is not None and t.resolve_due_at < now,
            TicketFilter(status="open", sort="due"): lambda t: t.state.is_open,
            TicketFilter(states=(TicketState.PENDING, TicketState.ASSIGNED), sort="due"):
                lambda t: t.state in (TicketState.PENDING, TicketState.ASSIGNED),
            TicketFilter(overdue=True, grid_id="xingfu-1", sort="due"):
                lambda t: t.state.is_open and t.grid_id == "xingfu-1" and t.resolve_due_at is not None and t.resolve_due_at < now,
            TicketFilter(status="closed", sort="due"): lambda t: not t.state.is_open,
        }
        for flt, wanted in cases.items():
            expected = sorted((t for t in every if wanted(t)),
                              key=lambda t: (t.resolve_due_at is None, t.resolve_due_at or now, t.id))
            got = [t.id for t in iterate(s, flt, None, batch=50, now=now)]
            assert got == [t.id for t in expected], flt
        assert any(t.resolve_due_at is None and t.state.is_open for t in every)  # the second walk is exercised
        overdue_newest = [t.id for t in iterate(s, TicketFilter(overdue=True), None, batch=50, now=now)]
        assert overdue_newest == sorted((t.id for t in every if cases[TicketFilter(overdue=True, sort="due")](t)), reverse=True)
        # recently updated first, through the open-tickets index; equal times (every 11th) by number
        overdue_updated = [t.id for t in iterate(s, TicketFilter(overdue=True, sort="updated"), None, batch=50, now=now)]
        overdue = [t for t in every if cases[TicketFilter(overdue=True, sort="due")](t)]
        assert overdue_updated == [t.id for t in sorted(overdue, key=lambda t: (t.updated_at, t.id), reverse=True)]
        assert len({t.updated_at for t in overdue}) < len(overdue)  # ties are exercised


def test_sweeps_over_six_days_send_each_warning_once_exactly_as_visiting_every_ticket_would(runtime):
    start = utcnow()
    _fill(runtime, 3000, open_every=25, now=start)  # 120 open tickets, created over the last six days
    sweeper, policy = runtime.sweeper, runtime.sweeper.actions.sla
    with Session(runtime.engine) as s:
        expected: dict[int, list[str]] = {}
        clocks = {t.id: sweeper.clock_of(s, t) for t in s.exec(select(Ticket).where(Ticket.state.in_(OPEN)))}
    # Every 30 minutes for six days, except a stretch of 20 hours when no instance ran.
    times = [start + timedelta(minutes=30 * k) for k in range(6 * 48) if not 100 <= k < 140]
    visited = []
    for now in times:
        report = sweeper.run_once(now)
        visited.append(sum(report.done.values()))
    # The reference: every open ticket looked at on every run, as the sweep did before.
    for number, clock in clocks.items():
        sent: set[str] = set()
        for now in times:
            for w in due_warnings(clock, now, remind_at=policy.remind_at, warn_at=policy.warn_at,
                                  escalate_every=policy.escalate_every, sent=sent):
                sent.add(w.key)
                expected.setdefault(number, []).append(w.key)
                if w.kind == "red":
                    clock = TicketClock(**{**clock.__dict__, "escalated_levels": w.level})
    with Session(runtime.engine) as s:
        events = list(s.exec(select(TicketEvent).where(TicketEvent.kind == "sla").order_by(TicketEvent.id)))
    got: dict[int, list[str]] = {}
    for e in events:
        got.setdefault(e.ticket_id, []).append(e.data["key"])
    assert got == expected
    assert sum(len(v) for v in got.values()) > 200  # confirm, blue, yellow and red all happened
    assert {k.split("@")[0] for keys in got.values() for k in keys} == {"confirm", "blue", "yellow", "red"}
    # Once everything due is sent, a run selects nothing: its cost no longer grows with open tickets.
    with Session(runtime.engine) as s:
        later = times[-1] + timedelta(minutes=1)
        due_now = s.exec(select(sa.func.count()).select_from(Ticket).where(
            Ticket.state.in_(OPEN), Ticket.next_sweep_at <= later)).one()
    assert due_now == 0


def test_a_changed_deadline_is_looked_at_by_the_next_sweep(runtime):
    start = utcnow()
    _fill(runtime, 50, open_every=5, now=start)
    sweeper = runtime.sweeper
    sweeper.run_once(start)
    with Session(runtime.engine) as s:
        ticket = next(t for t in s.exec(select(Ticket).where(Ticket.state == TicketState.CONFIRMED).order_by(Ticket.id))
                      if t.resolve_due_at is not None and t.resolve_due_at > start + timedelta(hours=1))
        assert ticket.next_sweep_at > start + timedelta(minutes=2)  # nothing due soon: not selected
        ticket.resolve_due_at = start + timedelta(minutes=1)  # e.g. raised to urgent by hand
        s.add(ticket)
        s.commit()
        number = ticket.id
    report = sweeper.run_once(start + timedelta(minutes=2))
    assert report.done.get("red") == 1
    with Session(runtime.engine) as s:
        kinds = [e.data["key"].split("@")[0] for e in s.exec(select(TicketEvent).where(
            TicketEvent.ticket_id == number, TicketEvent.kind == "sla"))]
    assert kinds.count("red") == 1


def _visits(sweeper, now) -> list[int]:
    """The open tickets one run looks at."""
    seen: list[int] = []
    original = sweeper._sweep_ticket

    def spy(ticket_id, *args):
        seen.append(ticket_id)
        return original(ticket_id, *args)

    sweeper._sweep_ticket = spy
    try:
        sweeper.run_once(now)
    finally:
        sweeper._sweep_ticket = original
    return seen


def test_a_restart_on_the_same_policy_does_not_look_at_every_open_ticket_again(runtime, settings, tmp_path):
    from bots.runtime import Runtime

    start = utcnow()
    _fill(runtime, 200, open_every=5, now=start)
    open_count = 40
    assert len(_visits(runtime.sweeper, start)) == open_count  # nothing recorded yet: every open ticket

    restarted = Runtime(settings)  # a new process, same SLA policy and grids
    assert restarted.sweeper.basis == runtime.sweeper.basis
    assert len(_visits(restarted.sweeper, start + timedelta(minutes=1))) < open_count
    restarted.engine.dispose()

    changed_sla = tmp_path / "sla.yaml"
    changed_sla.write_text(settings.sla_file.read_text(encoding="utf-8") + "\n# warn earlier from now on\n", encoding="utf-8")
    changed = Runtime(settings.model_copy(update={"sla_file": changed_sla}))
    assert changed.sweeper.basis != runtime.sweeper.basis
    assert len(_visits(changed.sweeper, start + timedelta(minutes=2))) == open_count  # a new policy: every open ticket once
    assert len(_visits(changed.sweeper, start + timedelta(minutes=3))) < open_count
    # the first process, still running on the old policy, takes the sweep over: it re-bases too
    assert len(_visits(runtime.sweeper, start + timedelta(minutes=4))) == open_count
    changed.engine.dispose()
