"""Routing (category × grid → department, default assignee) and emergency numbers, from config/routing.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from core.taxonomy import Category


@dataclass(frozen=True)
class Route:
    """Who handles a ticket: a department name and, optionally, a default assignee."""

    department: str | None = None
    assignee: str | None = None


class _RouteSpec(BaseModel):
    department: str | None = None
    assignee: str | None = None


class _EmergencyRisk(BaseModel):
    """A kind's stronger answer when the message shows people or electricity at risk."""

    words: list[str] = Field(min_length=1)
    call: str = Field(min_length=1)
    advice: str = ""


class _EmergencyKind(BaseModel):
    call: str = Field(min_length=1)
    advice: str = ""  # one line of safety advice; "{call}" in it is replaced by the number
    words: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)  # other classifier keywords that mean this kind
    risk: _EmergencyRisk | None = None

    @model_validator(mode="after")
    def _advice_formats(self) -> _EmergencyKind:
        for text in (self.advice, self.risk.advice if self.risk else ""):
            try:
                text.format(call="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"advice {text!r}: only {{call}} may appear in braces ({exc})") from exc
        return self


class _EmergencySpec(BaseModel):
    kinds: dict[str, _EmergencyKind] = Field(default_factory=dict)
    by_category: dict[str, str] = Field(default_factory=dict)
    default: str | None = None

    @model_validator(mode="after")
    def _known(self) -> _EmergencySpec:
        for name in [*self.by_category.values(), *([self.default] if self.default else [])]:
            if name not in self.kinds:
                raise ValueError(f"emergency kind {name!r} is used but not declared under emergency.kinds")
        return self


class _RoutingFile(BaseModel):
    categories: dict[str, _RouteSpec] = Field(default_factory=dict)
    grids: dict[str, dict[str, _RouteSpec]] = Field(default_factory=dict)
    emergency: _EmergencySpec = Field(default_factory=_EmergencySpec)

    @model_validator(mode="after")
    def _codes(self) -> _RoutingFile:
        codes = {c.value for c in Category}
        used = set(self.categories) | {c for per in self.grids.values() for c in per} | set(self.emergency.by_category)
        if unknown := sorted(used - codes):
            raise ValueError(f"unknown category codes {unknown}; valid codes: {sorted(codes)}")
        return self


@dataclass(frozen=True)
class EmergencyCall:
    kind: str  # an emergency kind the file declares (fire, gas, medical …)
    call: str  # what to dial, e.g. "119" or "燃气抢修电话96777"
    advice: str = ""  # one line of safety advice, the number filled in


@dataclass(frozen=True)
class RoutingTable:
    categories: dict[str, Route] = field(default_factory=dict)
    grids: dict[str, dict[str, Route]] = field(default_factory=dict)
    emergency: _EmergencySpec = field(default_factory=_EmergencySpec)

    def route(self, category: Category, grid_chain: Sequence[str]) -> Route:
        """The route for a category in a grid; ``grid_chain`` is the grid and its ancestors, nearest first.

        The nearest grid override wins field by field; the category default fills the rest.
        """
        department = assignee = None
        for grid_id in grid_chain:
            spec = self.grids.get(grid_id, {}).get(category.value)
            if spec:
                department = department or spec.department
                assignee = assignee or spec.assignee
        default = self.categories.get(category.value, Route())
        return Route(department or default.department, assignee or default.assignee)

    def emergency_call(self, text: str, category: Category, signals: Sequence[str] = ()) -> EmergencyCall:
        """The number to call and the advice for an emergency or a possible danger: by the
        classifier's emergency kind (``signals`` holds it, see ``Classification.keywords``), else
        words in the text, else the category, else the default. A kind's ``risk`` answer replaces
        its own when one of the risk words is in the text (a flooded flat with sockets under water)."""
        kinds = self.emergency.kinds
        name = next((s for s in signals if s in kinds), None)
        name = name or next((n for n, k in kinds.items() if any(s in k.signals for s in signals)), None)
        name = name or next((n for n, k in kinds.items() if any(w in text for w in k.words)), None)
        name = name or self.emergency.by_category.get(category.value) or self.emergency.default
        if name is None:
            return EmergencyCall("police", "110", "请立即拨打110。")
        kind = kinds[name]
        call, advice = kind.call, kind.advice
        if kind.risk is not None and any(w in text for w in kind.risk.words):
            call, advice = kind.risk.call, kind.risk.advice or advice
        return EmergencyCall(name, call, advice.format(call=call) if advice else f"请立即拨打{call}。")


def load_routing(path: Path) -> RoutingTable:
    """Read config/routing.yaml (or LINLI_ROUTING_FILE); errors name the file and the problem."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        spec = _RoutingFile.model_validate(data)
    except FileNotFoundError as exc:
        raise ValueError(f"routing file {path} does not exist; set LINLI_ROUTING_FILE or copy config/routing.yaml") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"routing file {path}: {exc}") from exc
    def as_route(s: _RouteSpec) -> Route:
        return Route(s.department, s.assignee)

    return RoutingTable(
        categories={k: as_route(v) for k, v in spec.categories.items()},
        grids={g: {k: as_route(v) for k, v in per.items()} for g, per in spec.grids.items()},
        emergency=spec.emergency,
    )
