"""A ticket's stored deadline follows China's holiday arrangement (real runtime, SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

from core.classify import Classification
from core.taxonomy import Category, Urgency

CN = timezone(timedelta(hours=8))


def social_assistance(text: str) -> Classification:
    return Classification(True, Category.SOCIAL_ASSISTANCE, Urgency.NORMAL, 0.9)


def test_a_five_working_day_request_filed_before_national_day_is_due_after_the_makeup_saturday(make_neighbourhood):
    hood = make_neighbourhood(classify=social_assistance)
    hood.clock.now = datetime(2025, 9, 29, 10, 0, tzinfo=CN).astimezone(UTC)
    hood.say("zhang", "想申请低保，需要什么材料")
    (ticket,) = hood.tickets()
    due = ticket.resolve_due_at if ticket.resolve_due_at.tzinfo else ticket.resolve_due_at.replace(tzinfo=UTC)
    assert due == datetime(2025, 10, 13, 10, 0, tzinfo=CN)


def test_start_warns_when_the_holiday_data_do_not_cover_the_current_year(make_neighbourhood, caplog):
    hood = make_neighbourhood()
    hood.runtime.clock = lambda: datetime(2099, 3, 1, 2, 0, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="linli.runtime"):
        hood.runtime.prepare()
    assert any("2099" in r.getMessage() and "Monday–Friday only" in r.getMessage() for r in caplog.records)
    caplog.clear()
    hood.runtime.clock = lambda: datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="linli.runtime"):
        hood.runtime.prepare()
    assert not [r for r in caplog.records if "chinesecalendar" in r.getMessage()]
