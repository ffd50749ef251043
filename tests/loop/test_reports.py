"""Digests (日报/周报): the numbers of core.stats for a staff room's grid, queued once per period and room
by the scheduler under its lock (even across restarts), and printed by `linli report`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from bots.reports import Reporter, Schedule
from core import db, reports
from core.models import OutboxMessage, utcnow
from core.timefmt import local

DAY = reports.last_complete("day", utcnow())[0]  # yesterday, local midnight
FILED = DAY + timedelta(hours=8)  # yesterday 08:00
REPORT_AT = DAY + timedelta(days=1, hours=11)  # today 11:00, after the 08:30 send time


def _story(hood) -> None:
    """Yesterday: a lift fixed in 幸福社区 and rated 满意; a full bin in 安乐社区 made urgent and left overdue."""
    hood.clock.now = FILED.astimezone(UTC)
    hood.say("zhang", "3栋电梯坏了，老人下不了楼")
    hood.say("zhou", "垃圾桶满了好几天没人清运", room="anle")
    hood.clock.advance(minutes=30)
    hood.say("wangfang", "确认 1")
    hood.say("zhaomin", "确认 2", room="anle")
    hood.say("zhaomin", "定级 2 加急", room="anle")
    hood.clock.advance(hours=2)
    hood.say("wangfang", "办结 1 电梯已修好")
    hood.say("zhang", "1")


def _digests(hood) -> dict[str, str]:
    with Session(hood.runtime.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.dedup_key.like("report:%"))).all()
    return {r.dedup_key: r.payload["text"] for r in rows}


def test_each_staff_room_gets_its_grids_daily_and_weekly_digest_once(hood):
    _story(hood)
    reporter = hood.runtime.reporter
    assert reporter.run_once(REPORT_AT) == 4  # day + week, for the two playground staff rooms
    digests = _digests(hood)
    day = DAY.date().isoformat()
    street = digests[f"report:day:{day}:to:playground:heping-staff"].splitlines()
    assert street[0] == f"【日报】和平街道 {DAY.month}月{DAY.day}日"
    assert street[1] == "新登记 2 件，已受理 2 件，已办结 1 件"
    assert street[2] == "办结率 50.0%，按时办结率 100.0%，满意率 100.0%（回访 1 份）"
    assert "· 幸福社区：登记 1，办结 1，办结率 100.0%" in street and "· 安乐社区：登记 1，办结 0，办结率 0.0%" in street
    assert street[-1] == "当前超期（红灯督办）1 件：安乐社区 1 件"
    community = digests[f"report:day:{day}:to:playground:xingfu-staff"].splitlines()
    assert community[0].startswith("【日报】幸福社区") and community[1] == "新登记 1 件，已受理 1 件，已办结 1 件"
    assert community[-1] == "当前没有超期（红灯）诉求。"
    assert not [k for k in digests if "wecom:grid-workers" in k]  # no WeCom channel configured: not reachable
    weekly = [k for k in digests if k.startswith("report:week:")]
    assert len(weekly) == 2 and all(digests[k].startswith("【周报】") for k in weekly)

    assert reporter.run_once(REPORT_AT + timedelta(hours=3)) == 0  # later the same day: nothing new
    engine = db.make_engine(hood.runtime.settings.resolved_database_url)  # another process, same database
    try:
        assert Reporter(engine, reporter.schedule, can_receive=reporter.can_receive).run_once(REPORT_AT + timedelta(hours=5)) == 0
    finally:
        engine.dispose()
    assert len(_digests(hood)) == 4


def test_the_days_digest_waits_for_its_time_and_can_be_switched_off(hood):
    _story(hood)
    early = Reporter(hood.runtime.engine, Schedule.parse("09:00", "off", "mon"))
    early.run_once(DAY + timedelta(days=1, hours=8, minutes=59))
    assert not [k for k in _digests(hood) if DAY.date().isoformat() in k]  # before 09:00: not yet today's
    assert not [k for k in _digests(hood) if k.startswith("report:week")]
    early.run_once(DAY + timedelta(days=1, hours=9))
    assert [k for k in _digests(hood) if k.startswith(f"report:day:{DAY.date().isoformat()}")]
    with pytest.raises(ValueError, match="08:30, or off"):
        Schedule.parse("8.30am", "off", "mon")
    with pytest.raises(ValueError, match="mon, tue"):
        Schedule.parse("08:30", "08:30", "xyz")


def test_the_scheduler_queues_digests_after_its_sweep_under_the_lock(hood):
    _story(hood)
    hood.clock.now = REPORT_AT.astimezone(UTC)
    assert hood.runtime.scheduler.tick() is not None
    assert len(_digests(hood)) == 4
    hood.runtime.scheduler.lock.release()


def test_linli_report_prints_the_same_digest(hood, database_url, tmp_path):
    _story(hood)
    env = os.environ | {"LINLI_DATABASE_URL": database_url, "LINLI_DATA_DIR": str(tmp_path), "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-m", "bots.cli", "report", "--period", "day", "--grid", "heping"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"【日报】和平街道 {DAY.month}月{DAY.day}日"
    assert lines[1] == "新登记 2 件，已受理 2 件，已办结 1 件"
    assert lines[-1] == "当前超期（红灯督办）1 件：安乐社区 1 件"
    whole = subprocess.run([sys.executable, "-m", "bots.cli", "report", "--period", "month"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert whole.returncode == 0 and whole.stdout.startswith("【月报】全区"), whole.stderr
    bad = subprocess.run([sys.executable, "-m", "bots.cli", "report", "--grid", "nowhere"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode != 0 and "no grid 'nowhere'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("period,now,label", [
    ("day", datetime(2026, 12, 2, 9, 0), "12月1日"),
    ("week", datetime(2026, 12, 2, 9, 0), "11月23日至11月29日"),
    ("month", datetime(2026, 1, 5, 9, 0), "2025年12月"),
])
def test_a_digest_covers_the_last_complete_period_in_local_time(period, now, label):
    now = now.replace(tzinfo=local(utcnow()).tzinfo)
    start, end = reports.last_complete(period, now)
    assert reports.period_label(period, start, end) == label
    assert end <= now and start.hour == 0


def test_a_weekly_digest_waits_for_its_weekday():
    zone = local(utcnow()).tzinfo
    tuesday = datetime(2026, 12, 1, 10, 0, tzinfo=zone)
    start, _ = reports.due_period("week", tuesday, time(8, 30), weekday=2)  # Wednesdays: last week's not yet
    assert start.date().isoformat() == "2026-11-16"
    start, _ = reports.due_period("week", tuesday, time(8, 30), weekday=0)
    assert start.date().isoformat() == "2026-11-23"
