"""The one entry point the rest of linli uses to classify a message.

The model behind it lives in ``core.classifier``; callers depend only on
:func:`classify` and :class:`Classification`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.taxonomy import Category, Urgency


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier says about one message."""

    is_request: bool
    category: Category
    urgency: Urgency
    confidence: float
    # True when the bot should ask "需要登记为诉求吗？" instead of filing silently.
    needs_confirmation: bool = False
    location: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    # The emergency kind (core.classifier.emergency.KIND_CODES) of an emergency or a possible
    # danger; None otherwise.
    emergency_kind: str | None = None
    # True when the message may report a danger but the classifier is unsure: urgency is then
    # `urgent` (never `emergency`), and the bot gives the number and advice without alarming
    # the level above.
    possible_danger: bool = False

    def as_json(self, text: str) -> dict[str, Any]:
        """The JSON shape of the taxonomy spec's `linli classify` interface."""
        out = {
            "text": text,
            "is_request": self.is_request,
            "category": self.category.value,
            "urgency": self.urgency.value,
            "confidence": round(self.confidence, 4),
        }
        if self.needs_confirmation:
            out["needs_confirmation"] = True
        if self.location:
            out["location"] = self.location
        if self.emergency_kind:
            out["emergency_kind"] = self.emergency_kind
        if self.possible_danger:
            out["possible_danger"] = True
        return out


def classify(text: str) -> Classification:
    """Classify one resident message. Never raises on odd input (empty, emoji, huge)."""
    from core.classifier import default_classifier

    return default_classifier().classify(text)
