"""Working-hours SLA policies: 「5个工作日」 counts office time only; emergencies stay 24/7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from config.settings import CONFIG_DIR
from core.sla import load_sla
from core.taxonomy import Category, Urgency
from core.working_hours import parse_working_hours

CN = timezone(timedelta(hours=8))
OFFICE = parse_working_hours({"days": "mon-fri", "hours": "08:30-17:30"})
FRIDAY_4PM = datetime(2026, 11, 27, 16, 0, tzinfo=CN)


@pytest.mark.parametrize("duration,expected", [
    (timedelta(hours=1), datetime(2026, 11, 27, 17, 0, tzinfo=CN)),
    (timedelta(hours=2), datetime(2026, 11, 30, 9, 0, tzinfo=CN)),  # 1.5 h Friday, 0.5 h Monday
    (timedelta(days=1), datetime(2026, 11, 30, 16, 0, tzinfo=CN)),  # the weekend does not count
    (timedelta(days=5), datetime(2026, 12, 4, 16, 0, tzinfo=CN)),
    (timedelta(days=1, hours=6), datetime(2026, 12, 1, 13, 0, tzinfo=CN)),
])
def test_adding_working_time_skips_nights_and_weekends(duration, expected):
    assert OFFICE.add(FRIDAY_4PM.astimezone(UTC), duration) == expected


def test_a_request_made_on_saturday_starts_counting_on_monday_morning():
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=CN)
    assert OFFICE.add(saturday, timedelta(hours=2)) == datetime(2026, 11, 30, 10, 30, tzinfo=CN)


@pytest.mark.parametrize("duration", [timedelta(hours=2), timedelta(days=1), timedelta(days=5), timedelta(hours=30)])
def test_subtract_finds_the_start_of_the_round(duration):
    assert OFFICE.subtract(OFFICE.add(FRIDAY_4PM, duration), duration) == FRIDAY_4PM


def test_shipped_policies_count_working_days_for_social_assistance_only():
    sla = load_sla(CONFIG_DIR / "sla.yaml")
    start = FRIDAY_4PM.astimezone(UTC)
    _, due = sla.due_dates(Category.SOCIAL_ASSISTANCE, Urgency.NORMAL, start)
    assert due == datetime(2026, 12, 4, 16, 0, tzinfo=CN)
    assert sla.round_start(Category.SOCIAL_ASSISTANCE, Urgency.NORMAL, due) == start
    _, due = sla.due_dates(Category.SANITATION, Urgency.NORMAL, start)
    assert due == start + timedelta(hours=24)  # wall clock
    _, due = sla.due_dates(Category.SOCIAL_ASSISTANCE, Urgency.URGENT, start)
    assert due == start + timedelta(hours=12)  # urgency overrides the calendar: 24/7


def test_bad_calendars_are_clear_errors(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("calendars:\n  office: {days: mon-fri}\ncategories:\n  health: {working_hours: offfice}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'offfice' names no calendar"):
        load_sla(path)
    with pytest.raises(ValueError, match="08:30-17:30"):
        parse_working_hours({"hours": "8.30 to 5"})
    with pytest.raises(ValueError, match="mon-fri"):
        parse_working_hours({"days": "weekdays"})


def test_a_round_that_started_out_of_hours_counts_from_the_opening_it_waited_for():
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=CN)
    for duration in (timedelta(hours=2), timedelta(days=3), timedelta(days=1, hours=8)):
        assert OFFICE.subtract(OFFICE.add(saturday, duration), duration) == datetime(2026, 11, 30, 8, 30, tzinfo=CN)
