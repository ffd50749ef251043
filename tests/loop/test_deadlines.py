"""Colours and due warnings are pure functions of stored times (core.deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.deadlines import Colour, TicketClock, colour, due_warnings

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=48)


@pytest.mark.parametrize(("hours", "expected"), [
    (0, Colour.GREEN), (23.9, Colour.GREEN), (24, Colour.BLUE), (35.9, Colour.BLUE),
    (36, Colour.YELLOW), (47.99, Colour.YELLOW), (48, Colour.RED), (500, Colour.RED),
])
def test_colour_follows_the_share_of_the_window_used(hours, expected):
    assert colour(T0, DUE, T0 + timedelta(hours=hours), remind_at=0.5, warn_at=0.75) is expected


def test_a_ticket_without_a_deadline_is_green_and_a_zero_window_is_red_at_once():
    assert colour(T0, None, T0 + timedelta(days=9)) is Colour.GREEN
    assert colour(T0, T0, T0) is Colour.RED


def _clock(**kw) -> TicketClock:
    base = dict(pending=False, round_start=T0, confirm_due_at=T0 + timedelta(hours=2), resolve_due_at=DUE,
                escalated_levels=0, ladder_size=3)
    return TicketClock(**{**base, **kw})


def _due(t: TicketClock, hours: float, sent: set[str] | None = None):
    return due_warnings(t, T0 + timedelta(hours=hours), remind_at=0.5, warn_at=0.75,
                        escalate_every=timedelta(hours=24), sent=sent or set())


def test_each_warning_is_due_once_and_recorded_keys_silence_it():
    t = _clock()
    assert _due(t, 10) == []
    (blue,) = _due(t, 25)
    assert blue.kind == "blue"
    assert _due(t, 26, {blue.key}) == []
    (yellow,) = _due(t, 37, {blue.key})
    assert yellow.kind == "yellow"
    assert _due(t, 40, {blue.key, yellow.key}) == []


def test_a_missed_run_sends_the_strongest_warning_due_not_the_ones_it_overtook():
    (yellow,) = _due(_clock(), 40)  # blue was never sent: yellow alone
    assert yellow.kind == "yellow"
    assert _due(_clock(), 41, {yellow.key}) == []  # and blue is not sent after yellow
    (red,) = _due(_clock(), 49)
    assert (red.kind, red.level) == ("red", 1)


def test_red_climbs_one_level_per_period_and_never_past_the_top():
    assert _due(_clock(escalated_levels=1), 60) == []  # already at the community
    (street,) = _due(_clock(escalated_levels=1), 72)
    assert street.level == 2
    (top,) = _due(_clock(), 24 * 30)  # a month late after a long outage: straight to the top level
    assert top.level == 3
    assert _due(_clock(escalated_levels=3), 24 * 30) == []


def test_a_worker_escalation_by_hand_counts_as_reached():
    assert _due(_clock(escalated_levels=1), 49) == []


def test_pending_tickets_get_one_confirmation_reminder_per_deadline():
    t = _clock(pending=True)
    assert _due(t, 1) == []
    (confirm,) = _due(t, 3)
    assert confirm.kind == "confirm"
    assert _due(t, 4, {confirm.key}) == []


def test_a_reopened_ticket_starts_a_new_round_with_fresh_warnings():
    first = _due(_clock(), 37)[0]
    reopened = _clock(round_start=T0 + timedelta(hours=50), resolve_due_at=T0 + timedelta(hours=98))
    (again,) = _due(reopened, 50 + 37, {first.key})
    assert again.kind == "yellow" and again.key != first.key
