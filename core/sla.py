"""SLA policies: confirm-within and resolve-within per category and urgency (config/sla.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from core.holidays import uncovered_years
from core.taxonomy import Category, Urgency
from core.working_hours import WorkingHours, parse_working_hours

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str | int | float) -> timedelta:
    """``30m``, ``2h``, ``3d`` (or a number of hours) → timedelta; ValueError names the format."""
    if isinstance(text, (int, float)):
        return timedelta(hours=float(text))
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"duration {text!r} is not understood; write it like 30m, 2h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@dataclass(frozen=True)
class Deadlines:
    confirm_within: timedelta
    resolve_within: timedelta
    remind_at: float
    warn_at: float
    calendar: WorkingHours | None = None  # None: wall-clock time, 24/7

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return self.calendar.add(start, duration) if self.calendar else start + duration


@dataclass(frozen=True)
class SlaPolicies:
    confirm: timedelta
    resolve: timedelta
    remind_at: float
    warn_at: float
    by_category: dict[str, dict[str, timedelta]]
    by_urgency: dict[str, dict[str, timedelta]]
    # An overdue ticket climbs one more level (community → street → district) after each such period.
    escalate_every: timedelta = timedelta(hours=24)
    # Working-hours calendar per defaults/category/urgency ("" means 24/7); see config/sla.yaml.
    calendar: WorkingHours | None = None
    calendar_by_category: dict[str, WorkingHours | None] = field(default_factory=dict)
    calendar_by_urgency: dict[str, WorkingHours | None] = field(default_factory=dict)

    def for_ticket(self, category: Category, urgency: Urgency) -> Deadlines:
        """The policy for one ticket: the category's times, shortened (never lengthened) by urgency."""
        cat = self.by_category.get(category.value, {})
        confirm = cat.get("confirm", self.confirm)
        resolve = cat.get("resolve", self.resolve)
        urg = self.by_urgency.get(urgency.value, {})
        confirm = min(confirm, urg.get("confirm", confirm))
        resolve = min(resolve, urg.get("resolve", resolve))
        calendar = self.calendar
        if category.value in self.calendar_by_category:
            calendar = self.calendar_by_category[category.value]
        if urgency.value in self.calendar_by_urgency:
            calendar = self.calendar_by_urgency[urgency.value]
        return Deadlines(confirm, resolve, self.remind_at, self.warn_at, calendar)

    def holiday_warning(self, today: date) -> str | None:
        """What to log at start when a calendar counts Chinese holidays but this year has no data."""
        calendars = [self.calendar, *self.calendar_by_category.values(), *self.calendar_by_urgency.values()]
        if not any(c is not None and c.china_holidays for c in calendars):
            return None
        # In December, deadlines already run into next year (元旦): its arrangement is published by then.
        missing = uncovered_years(today.year, *([today.year + 1] if today.month == 12 else []))
        if not missing:
            return None
        years = "、".join(str(y) for y in missing)
        return (f"the chinesecalendar package has no public holidays or 调休 days for {years}: working-day "
                f"deadlines in {years} count Monday–Friday only; upgrade it (pip install -U chinesecalendar)")

    def due_dates(self, category: Category, urgency: Urgency, start: datetime) -> tuple[datetime, datetime]:
        """Confirm-by and resolve-by for a ticket whose deadline round starts at ``start``."""
        d = self.for_ticket(category, urgency)
        return d.add(start, d.confirm_within), d.add(start, d.resolve_within)

    def round_start(self, category: Category, urgency: Urgency, resolve_due: datetime) -> datetime:
        """When the round that ends at ``resolve_due`` started (the inverse of :meth:`due_dates`)."""
        d = self.for_ticket(category, urgency)
        if d.calendar is None:
            return resolve_due - d.resolve_within
        return d.calendar.subtract(resolve_due, d.resolve_within)


def _durations(section: dict[str, Any] | None) -> dict[str, dict[str, timedelta]]:
    return {
        key: {k: parse_duration(v) for k, v in (value or {}).items() if k in ("confirm", "resolve")}
        for key, value in (section or {}).items()
    }


def _calendars(data: dict[str, Any], path: Path) -> tuple[WorkingHours | None, dict[str, Any], dict[str, Any]]:
    """The named calendars, and which applies by default, per category and per urgency."""
    try:
        named = {name: parse_working_hours(spec or {}) for name, spec in (data.get("calendars") or {}).items()}
    except ValueError as exc:
        raise ValueError(f"SLA file {path}: {exc}") from exc

    def pick(value: object) -> WorkingHours | None:
        if value in (None, "", "none", "24/7"):
            return None
        if value not in named:
            raise ValueError(f"SLA file {path}: working_hours {value!r} names no calendar; declared: {sorted(named)}")
        return named[value]

    def per(section: str) -> dict[str, WorkingHours | None]:
        return {k: pick(v["working_hours"]) for k, v in (data.get(section) or {}).items() if v and "working_hours" in v}

    return pick((data.get("defaults") or {}).get("working_hours")), per("categories"), per("urgency")


def load_sla(path: Path) -> SlaPolicies:
    """Read config/sla.yaml (or the file LINLI_SLA_FILE names)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    defaults = data.get("defaults", {})
    calendar, calendar_by_category, calendar_by_urgency = _calendars(data, path)
    by_category = _durations(data.get("categories"))
    by_urgency = _durations(data.get("urgency"))
    unknown = set(by_category) - {c.value for c in Category} | set(by_urgency) - {u.value for u in Urgency}
    if unknown:
        raise ValueError(f"SLA file {path}: unknown category or urgency codes {sorted(unknown)}")
    return SlaPolicies(
        confirm=parse_duration(defaults.get("confirm", "2h")),
        resolve=parse_duration(defaults.get("resolve", "72h")),
        remind_at=float(defaults.get("remind_at", 0.5)),
        warn_at=float(defaults.get("warn_at", 0.75)),
        by_category=by_category,
        by_urgency=by_urgency,
        escalate_every=parse_duration(defaults.get("escalate_every", "24h")),
        calendar=calendar,
        calendar_by_category=calendar_by_category,
        calendar_by_urgency=calendar_by_urgency,
    )
