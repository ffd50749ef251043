"""Working days follow China's holiday arrangement: 国庆 and 春节 are off, 调休 weekends are worked."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from config.settings import CONFIG_DIR
from core import holidays
from core.sla import load_sla
from core.working_hours import parse_working_hours

CN = timezone(timedelta(hours=8))
OFFICE = parse_working_hours({"days": "mon-fri", "hours": "08:30-17:30"})
WEEKDAYS_ONLY = parse_working_hours({"days": "mon-fri", "hours": "08:30-17:30", "holidays": "none"})


def test_five_working_days_filed_before_national_day_skip_the_golden_week_and_count_the_makeup_saturday():
    filed = datetime(2025, 9, 29, 10, 0, tzinfo=CN)  # Monday; 10-01..10-08 off, Saturday 10-11 worked
    # Sep 30 (1), Oct 9 (2), Oct 10 (3), Sat Oct 11 (4), Mon Oct 13 (5)
    assert OFFICE.add(filed, timedelta(days=5)) == datetime(2025, 10, 13, 10, 0, tzinfo=CN)
    assert WEEKDAYS_ONLY.add(filed, timedelta(days=5)) == datetime(2025, 10, 6, 10, 0, tzinfo=CN)


def test_a_request_on_the_makeup_sunday_before_national_day_is_counted_from_that_sunday():
    sunday = datetime(2025, 9, 28, 9, 0, tzinfo=CN)  # 调休上班
    assert OFFICE.add(sunday, timedelta(hours=2)) == datetime(2025, 9, 28, 11, 0, tzinfo=CN)


def test_spring_festival_is_off_and_the_saturdays_around_it_are_worked():
    friday = datetime(2026, 2, 13, 16, 0, tzinfo=CN)
    assert OFFICE.add(friday, timedelta(days=1)) == datetime(2026, 2, 14, 16, 0, tzinfo=CN)  # Saturday, 调休
    assert OFFICE.add(friday, timedelta(days=2)) == datetime(2026, 2, 24, 16, 0, tzinfo=CN)  # after 15–23 Feb
    # office hours run over the holiday too: 1.5 h on Saturday the 14th, the rest on the 24th
    assert OFFICE.add(friday, timedelta(days=1, hours=2)) == datetime(2026, 2, 24, 9, 0, tzinfo=CN)
    # filed on the last holiday: counted from Tuesday's opening; 25, 26, 27, Saturday 28 (调休), Monday 2 March
    assert OFFICE.add(datetime(2026, 2, 23, 12, 0, tzinfo=CN), timedelta(days=5)) == datetime(2026, 3, 2, 8, 30, tzinfo=CN)


@pytest.mark.parametrize("start,duration", [
    (datetime(2025, 9, 29, 10, 0, tzinfo=CN), timedelta(days=5)),
    (datetime(2025, 9, 30, 17, 0, tzinfo=CN), timedelta(hours=3)),
    (datetime(2026, 2, 13, 16, 0, tzinfo=CN), timedelta(days=2, hours=4)),
])
def test_subtract_undoes_add_across_holidays(start, duration):
    assert OFFICE.subtract(OFFICE.add(start, duration), duration) == start


def test_a_year_without_data_falls_back_to_weekdays():
    assert not holidays.covered(2099)
    assert holidays.covered(2025)
    friday = datetime(2099, 10, 2, 10, 0, tzinfo=CN)
    assert OFFICE.add(friday, timedelta(days=1)) == datetime(2099, 10, 5, 10, 0, tzinfo=CN)


def test_the_shipped_policy_warns_only_for_a_year_the_package_does_not_cover():
    sla = load_sla(CONFIG_DIR / "sla.yaml")
    assert sla.holiday_warning(date(2025, 10, 1)) is None
    warning = sla.holiday_warning(date(2099, 1, 2))
    assert "2099" in warning and "Monday–Friday only" in warning and "pip install -U chinesecalendar" in warning
    assert sla.holiday_warning(date(2025, 12, 2)) is None  # 2026 is published
    assert "2099" in sla.holiday_warning(date(2098, 12, 2))  # in December, next year's 元旦 is near
    assert "2099" not in sla.holiday_warning(date(2098, 11, 30))  # before December, only the current year


def test_a_policy_without_holiday_calendars_never_warns(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("calendars:\n  office: {days: mon-fri, holidays: none}\ndefaults: {working_hours: office}\n",
                    encoding="utf-8")
    assert load_sla(path).holiday_warning(date(2099, 1, 2)) is None
    with pytest.raises(ValueError, match="china .* or none"):
        parse_working_hours({"holidays": "us"})
