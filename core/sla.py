"""SLA policies: confirm-within and resolve-within per category and urgency (config/sla.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from core.taxonomy import Category, Urgency

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

    def for_ticket(self, category: Category, urgency: Urgency) -> Deadlines:
        """The policy for one ticket: the category's times, shortened (never lengthened) by urgency."""
        cat = self.by_category.get(category.value, {})
        confirm = cat.get("confirm", self.confirm)
        resolve = cat.get("resolve", self.resolve)
        urg = self.by_urgency.get(urgency.value, {})
        confirm = min(confirm, urg.get("confirm", confirm))
        resolve = min(resolve, urg.get("resolve", resolve))
        return Deadlines(confirm, resolve, self.remind_at, self.warn_at)

    def due_dates(self, category: Category, urgency: Urgency, start: datetime) -> tuple[datetime, datetime]:
        d = self.for_ticket(category, urgency)
        return start + d.confirm_within, start + d.resolve_within


def _durations(section: dict | None) -> dict[str, dict[str, timedelta]]:
    return {
        key: {k: parse_duration(v) for k, v in (value or {}).items() if k in ("confirm", "resolve")}
        for key, value in (section or {}).items()
    }


def load_sla(path: Path) -> SlaPolicies:
    """Read config/sla.yaml (or the file LINLI_SLA_FILE names)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    defaults = data.get("defaults", {})
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
    )
