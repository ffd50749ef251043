"""Daily, weekly and monthly digests for a grid and the grids below it (the command centre's 日报/周报).

A digest covers the last complete period in local time (LINLI_TIMEZONE): yesterday, last week
(Monday to Sunday) or last month. Its numbers come from core.stats: tickets registered in the
period (received, confirmed, resolved, 办结率, on-time rate, satisfaction) in total and by the
grids one level down, and the tickets overdue right now (red, 督办) by grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from core import stats
from core.grids import LEVEL_ORDER, Level
from core.models import Grid
from core.search import TicketFilter
from core.timefmt import local

PERIODS = ("day", "week", "month")
PERIOD_NAMES = {"day": "日报", "week": "周报", "month": "月报"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _midnight(day: date, like: datetime) -> datetime:
    return datetime.combine(day, time(), tzinfo=like.tzinfo)


def period_start(period: str, when: datetime) -> datetime:
    """The start (local midnight) of the day, week (Monday) or month that contains ``when``."""
    day = local(when).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period != "day":
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    return _midnight(day, local(when))


def last_complete(period: str, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the last period that has ended by ``now``."""
    end = period_start(period, now)
    return period_start(period, end - timedelta(seconds=1)), end


def period_label(period: str, start: datetime, end: datetime) -> str:
    """「12月1日」, 「11月24日至11月30日」, 「2026年11月」."""
    last = (end - timedelta(seconds=1)).date()
    if period == "day":
        return f"{start.month}月{start.day}日"
    if period == "week":
        return f"{start.month}月{start.day}日至{last.month}月{last.day}日"
    return f"{start.year}年{start.month}月"


def due_period(period: str, now: datetime, at: time, weekday: int = 0) -> tuple[datetime, datetime]:
    """The period whose digest is due at ``now``: a period's digest goes out at ``at`` on the first day
    after it (on ``weekday`` for weekly ones); before that moment the previous one is the due one."""
    start, end = last_complete(period, now)
    send = _midnight(end.date() + timedelta(days=weekday if period == "week" else 0), end) + timedelta(hours=at.hour, minutes=at.minute)
    if local(now) < send:
        return last_complete(period, start)
    return start, end


@dataclass
class Digest:
    period: str
    start: datetime
    end: datetime
    grid: Grid | None  # None: every grid
    total: stats.StatsRow  # tickets registered in the period
    by_grid: list[stats.StatsRow] = field(default_factory=list)
    overdue_by_grid: list[tuple[str, int]] = field(default_factory=list)  # open and overdue now (red)

    @property
    def overdue(self) -> int:
        return sum(n for _, n in self.overdue_by_grid)

    @property
    def label(self) -> str:
        return period_label(self.period, self.start, self.end)


def _below(grid: Grid | None) -> Level:
    """The level a digest breaks down by: one below its grid (the district's streets …)."""
    if grid is None:
        return Level.STREET
    i = LEVEL_ORDER.index(Level(grid.level))
    return LEVEL_ORDER[min(i + 1, len(LEVEL_ORDER) - 1)]


def build(session: Session, period: str, *, grid_id: str | None, now: datetime,
          start: datetime | None = None, end: datetime | None = None) -> Digest:
    """The digest of ``grid_id`` (and below; None: everything) for the period ending last before ``now``."""
    if start is None or end is None:
        start, end = last_complete(period, now)
    grid = session.get(Grid, grid_id) if grid_id else None
    if grid_id and grid is None:
        raise ValueError(f"no grid {grid_id!r}; the grids are: {', '.join(session.exec(select(Grid.id)).all())}")
    flt = TicketFilter(grid_id=grid_id)
    level = _below(grid)
    in_period = stats.report(session, None, dimension="grid", start=start, end=end, grid_level=level, flt=flt, now=now)
    current = stats.report(session, None, dimension="grid", grid_level=level, flt=flt, now=now)
    overdue = sorted(((r.label, r.open_overdue) for r in current.rows if r.open_overdue), key=lambda x: -x[1])
    return Digest(period, start, end, grid, in_period.total, in_period.rows, overdue)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def format_digest(d: Digest) -> str:
    """The digest as posted in a staff room and printed by ``linli report``."""
    t = d.total
    where = d.grid.name if d.grid else "全区"
    lines = [
        f"【{PERIOD_NAMES[d.period]}】{where} {d.label}",
        f"新登记 {t.received} 件，已受理 {t.confirmed} 件，已办结 {t.resolved} 件",
        f"办结率 {_pct(t.completion_rate)}，按时办结率 {_pct(t.on_time_rate)}，"
        f"满意率 {_pct(t.satisfaction_rate)}（回访 {t.survey_answers} 份）",
    ]
    if len(d.by_grid) > 1 or (d.by_grid and d.grid is None):
        lines.append("分网格：")
        lines += [f"· {r.label}：登记 {r.received}，办结 {r.resolved}，办结率 {_pct(r.completion_rate)}" for r in d.by_grid]
    if d.overdue_by_grid:
        lines.append(f"当前超期（红灯督办）{d.overdue} 件：" + "，".join(f"{name} {n} 件" for name, n in d.overdue_by_grid))
    else:
        lines.append("当前没有超期（红灯）诉求。")
    return "\n".join(lines)
