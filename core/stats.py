"""The numbers a district is judged on, for tickets registered in a period, inside a scope.

Definitions (every rate is None when its denominator is zero):

- received (受理登记): tickets registered in the period;
- confirmed (已受理): of those, tickets a grid worker accepted (``confirmed_at`` set);
- resolved (已办结): tickets whose state is closed-fixed (resolved or closed);
- closed (已关闭): tickets in state closed (the resident answered, or the survey timed out);
- completion rate (办结率) = resolved / confirmed;
- on-time rate (按时办结率) = resolved no later than their resolve deadline / resolved with a deadline;
- median time to confirm and to resolve, in seconds, from registration;
- satisfaction (满意率) = 满意 + 基本满意 answers / all survey answers (events of kind ``survey``).

Breakdowns: by category, by grid rolled up to a level (district/street/community/grid), and by
period (day, week starting Monday, month) in local time (LINLI_TIMEZONE). Everything is
counted in SQL (GROUP BY); medians come from one scan of the durations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.accounts import Scope
from core.db import table_of
from core.grids import LEVEL_ORDER, Level
from core.models import Grid, Ticket, TicketEvent
from core.search import TicketFilter, where_clauses
from core.taxonomy import Category
from core.ticket_states import TicketState
from core.timefmt import local

DIMENSIONS = ("total", "category", "grid", "day", "week", "month")
FIXED_STATES = (TicketState.RESOLVED.value, TicketState.CLOSED.value)
# Survey answers (see the ticket loop): 1 满意, 2 基本满意, 3 不满意.
SATISFIED_SCORES = (1, 2)
SURVEY_EVENT = "survey"


@dataclass
class StatsRow:
    key: str
    label: str
    received: int = 0
    confirmed: int = 0
    resolved: int = 0
    closed: int = 0
    resolved_with_deadline: int = 0
    resolved_on_time: int = 0
    open_overdue: int = 0
    median_confirm_seconds: float | None = None
    median_resolve_seconds: float | None = None
    survey_answers: int = 0
    satisfied: int = 0

    @property
    def completion_rate(self) -> float | None:
        return self.resolved / self.confirmed if self.confirmed else None

    @property
    def on_time_rate(self) -> float | None:
        return self.resolved_on_time / self.resolved_with_deadline if self.resolved_with_deadline else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.survey_answers if self.survey_answers else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "label": self.label, "received": self.received, "confirmed": self.confirmed,
            "resolved": self.resolved, "closed": self.closed, "open_overdue": self.open_overdue,
            "completion_rate": self.completion_rate, "on_time_rate": self.on_time_rate,
            "median_confirm_seconds": self.median_confirm_seconds, "median_resolve_seconds": self.median_resolve_seconds,
            "survey_answers": self.survey_answers, "satisfied": self.satisfied, "satisfaction_rate": self.satisfaction_rate,
        }


@dataclass
class Report:
    dimension: str
    start: datetime | None
    end: datetime | None
    total: StatsRow
    rows: list[StatsRow] = field(default_factory=list)


CSV_COLUMNS = list(StatsRow("", "").as_dict())


def local_day_start(day: date) -> datetime:
    """Midnight of a local calendar day (LINLI_TIMEZONE), as an aware datetime."""
    zone = local(datetime.now(UTC)).tzinfo
    return datetime.combine(day, time(), tzinfo=zone)


def _utc_offset() -> timedelta:
    return local(datetime.now(UTC)).utcoffset() or timedelta(0)


def _seconds_between(dialect: str, start: Any, end: Any) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _period_key(dialect: str, dimension: str) -> sa.ColumnElement[Any]:
    """Local calendar day / Monday of the week / month of registration, as text."""
    hours = _utc_offset().total_seconds() / 3600
    created = col(Ticket.created_at)
    if dialect == "postgresql":
        shifted = created + sa.text(f"interval '{hours} hours'")
        if dimension == "day":
            return sa.func.to_char(shifted, "YYYY-MM-DD")
        if dimension == "week":
            return sa.func.to_char(sa.func.date_trunc("week", shifted), "YYYY-MM-DD")
        return sa.func.to_char(shifted, "YYYY-MM")
    modifier = f"{hours:+g} hours"
    if dimension == "day":
        return sa.func.date(created, modifier)
    if dimension == "week":
        return sa.func.date(created, modifier, "weekday 0", "-6 days")
    return sa.func.strftime("%Y-%m", created, modifier)


def _grid_key(session: Session, level: Level) -> tuple[sa.ColumnElement[Any], dict[str, str]]:
    """A CASE mapping each grid to its ancestor at ``level`` (grids above that level keep their own id)."""
    grids = {g.id: g for g in session.exec(select(Grid))}
    mapping: dict[str, str] = {}
    for gid in grids:
        cur = grids[gid]
        chain = [cur]
        while cur.parent_id and cur.parent_id in grids and len(chain) < 16:
            cur = grids[cur.parent_id]
            chain.append(cur)
        target = next((g for g in chain if g.level == level.value), chain[0])
        mapping[gid] = target.id
    if not mapping:
        return table_of(Ticket).c.grid_id, {}
    return sa.case(mapping, value=Ticket.grid_id, else_=Ticket.grid_id), {g.id: g.name for g in grids.values()}


def _medians(session: Session, key: sa.ColumnElement[Any], confirm_s: sa.ColumnElement[Any], resolve_s: sa.ColumnElement[Any],
             fixed: sa.ColumnElement[bool], conds: list[Any]) -> tuple[dict[str, float], dict[str, float], float | None, float | None]:
    """Median seconds to confirm and to resolve, per key and overall.

    The durations are computed in SQL and the medians in Python: one indexed scan, where a
    window function per group would sort every group again (seconds instead of tenths at a
    million tickets on SQLite).
    """
    q = select(key, confirm_s, sa.case((fixed, resolve_s), else_=None)).where(*conds, col(Ticket.confirmed_at).is_not(None))
    confirm: dict[str, list[float]] = {}
    resolve: dict[str, list[float]] = {}
    for k, c, r in session.execute(q):
        k = _key(k)
        if c is not None:
            confirm.setdefault(k, []).append(float(c))
        if r is not None:
            resolve.setdefault(k, []).append(float(r))
    overall_c = [v for vs in confirm.values() for v in vs]
    overall_r = [v for vs in resolve.values() for v in vs]
    return ({k: median(v) for k, v in confirm.items()}, {k: median(v) for k, v in resolve.items()},
            median(overall_c) if overall_c else None, median(overall_r) if overall_r else None)


def _key(k: object) -> str:
    return str(k.value if hasattr(k, "value") else k) if k is not None else "-"


def report(
    session: Session, scope: Scope | None, *, dimension: str = "category", start: datetime | None = None,
    end: datetime | None = None, grid_level: Level = Level.COMMUNITY, flt: TicketFilter | None = None,
    now: datetime,
) -> Report:
    """Statistics of tickets registered in ``[start, end)`` inside ``scope``, grouped by ``dimension``."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
    dialect = session.get_bind().dialect.name
    flt = flt or TicketFilter()
    flt = TicketFilter(**{**flt.__dict__, "created_from": start or flt.created_from, "created_to": end or flt.created_to})
    conds = where_clauses(session, flt, scope, now)
    names: dict[str, str] = {}
    key: sa.ColumnElement[Any]
    if dimension == "total":
        key = sa.literal("total")
    elif dimension == "category":
        key = table_of(Ticket).c.category
        names = {c.value: c.label for c in Category}
    elif dimension == "grid":
        key, names = _grid_key(session, grid_level)
    else:
        key = _period_key(dialect, dimension)

    fixed = col(Ticket.state).in_(FIXED_STATES)
    is_open = col(Ticket.state).in_([s.value for s in TicketState if s.is_open])
    def as_int(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    q = sa.select(
        key.label("k"),
        sa.func.count(),
        as_int(col(Ticket.confirmed_at).is_not(None)),
        as_int(fixed),
        as_int(col(Ticket.state) == TicketState.CLOSED.value),
        as_int(sa.and_(fixed, col(Ticket.resolve_due_at).is_not(None))),
        as_int(sa.and_(fixed, col(Ticket.resolved_at).is_not(None), col(Ticket.resolved_at) <= col(Ticket.resolve_due_at))),
        as_int(sa.and_(is_open, col(Ticket.resolve_due_at) < now)),
    ).where(*conds).group_by(key)
    rows: dict[str, StatsRow] = {}
    for k, *values in session.execute(q):
        k = _key(k)
        row = rows.setdefault(k, StatsRow(k, names.get(k, k if k != "-" else "未划分网格")))
        (n, confirmed, resolved, closed, with_deadline, on_time, overdue) = (int(v or 0) for v in values)
        row.received += n
        row.confirmed += confirmed
        row.resolved += resolved
        row.closed += closed
        row.resolved_with_deadline += with_deadline
        row.resolved_on_time += on_time
        row.open_overdue += overdue

    confirm_s = _seconds_between(dialect, Ticket.created_at, Ticket.confirmed_at)
    resolve_s = _seconds_between(dialect, Ticket.created_at, Ticket.resolved_at)
    by_confirm, by_resolve, all_confirm, all_resolve = _medians(session, key, confirm_s, resolve_s, fixed, conds)
    for k, row in rows.items():
        row.median_confirm_seconds, row.median_resolve_seconds = by_confirm.get(k), by_resolve.get(k)

    score = sa.cast(sa.func.json_extract(TicketEvent.data, "$.score"), sa.Integer) if dialect != "postgresql" else \
        sa.cast(col(TicketEvent.data).op("->>")("score"), sa.Integer)
    sq = (
        select(key.label("k"), sa.func.count(), sa.func.sum(sa.case((score.in_(SATISFIED_SCORES), 1), else_=0)))
        .select_from(Ticket).join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(*conds, col(TicketEvent.kind) == SURVEY_EVENT).group_by(key)
    )
    for k, answers, satisfied in session.exec(sq):
        k = _key(k)
        if k in rows:
            rows[k].survey_answers, rows[k].satisfied = int(answers or 0), int(satisfied or 0)

    ordered = sorted(rows.values(), key=lambda r: r.key if dimension in ("day", "week", "month") else -r.received)
    total = _sum(ordered)
    # Medians do not add up: the total's come from all durations together.
    total.median_confirm_seconds, total.median_resolve_seconds = all_confirm, all_resolve
    return Report(dimension, start, end, total, ordered if dimension != "total" else [])


def _sum(rows: list[StatsRow]) -> StatsRow:
    total = StatsRow("total", "合计")
    for r in rows:
        for name in ("received", "confirmed", "resolved", "closed", "resolved_with_deadline", "resolved_on_time",
                     "open_overdue", "survey_answers", "satisfied"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return total


def level_choices() -> list[Level]:
    return [lv for lv in LEVEL_ORDER if lv is not Level.DISTRICT]
