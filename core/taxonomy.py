"""Request categories and urgency levels: the stable interface of ../shared/spec/taxonomy.md.

The codes are used by the classifier, routing, SLA policies, statistics and evaluation sets;
the Chinese names are what residents and grid workers see.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    PROPERTY = "property"
    NEIGHBOR = "neighbor"
    SANITATION = "sanitation"
    GREENING = "greening"
    CITY_ORDER = "city_order"
    FACILITIES = "facilities"
    UTILITIES = "utilities"
    SAFETY_HAZARD = "safety_hazard"
    PUBLIC_SECURITY = "public_security"
    NOISE = "noise"
    SOCIAL_ASSISTANCE = "social_assistance"
    ELDERLY_CARE = "elderly_care"
    HEALTH = "health"
    OTHER = "other"
    CHATTER = "chatter"

    @property
    def label(self) -> str:
        """The Chinese name residents see, e.g. 物业服务."""
        return CATEGORY_LABELS[self]

    @property
    def spoken(self) -> str:
        """The name residents use for it in a chat reply, e.g. 邻里问题 (a leak is not yet a 纠纷)."""
        return SPOKEN_LABELS.get(self, CATEGORY_LABELS[self])

    @property
    def is_request(self) -> bool:
        return self is not Category.CHATTER


CATEGORY_LABELS: dict[Category, str] = {
    Category.PROPERTY: "物业服务",
    Category.NEIGHBOR: "邻里纠纷",
    Category.SANITATION: "环境卫生",
    Category.GREENING: "园林绿化",
    Category.CITY_ORDER: "市容秩序",
    Category.FACILITIES: "市政设施",
    Category.UTILITIES: "水电燃气",
    Category.SAFETY_HAZARD: "安全隐患",
    Category.PUBLIC_SECURITY: "社会治安",
    Category.NOISE: "噪音扰民",
    Category.SOCIAL_ASSISTANCE: "民政社保",
    Category.ELDERLY_CARE: "助老帮扶",
    Category.HEALTH: "卫生健康",
    Category.OTHER: "其他诉求",
    Category.CHATTER: "非诉求",
}

# Where the official name is an office's word, the bot's replies use the resident's word instead
# (the console, statistics and Open311 keep the official names; 改类 accepts both).
SPOKEN_LABELS: dict[Category, str] = {
    Category.NEIGHBOR: "邻里问题",
    Category.FACILITIES: "公共设施",
    Category.PUBLIC_SECURITY: "治安问题",
    Category.ELDERLY_CARE: "助老服务",
    Category.OTHER: "其他问题",
}

REQUEST_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c.is_request)


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    NORMAL = "normal"

    @property
    def label(self) -> str:
        return URGENCY_LABELS[self]


URGENCY_LABELS: dict[Urgency, str] = {
    Urgency.EMERGENCY: "紧急",
    Urgency.URGENT: "加急",
    Urgency.NORMAL: "一般",
}


def category_from_label_or_code(value: str) -> Category:
    """Accept either a code (``neighbor``) or its Chinese name (``邻里纠纷``, also in Traditional).

    Raises ValueError listing the valid choices, for commands such as 改类.
    """
    from core.chinese import to_simplified

    value = to_simplified(value.strip())  # 改類 12 物業服務
    for category in Category:
        if value in (category.value, category.label, category.spoken):
            return category
    choices = "、".join(f"{c.label}({c.value})" for c in REQUEST_CATEGORIES)
    raise ValueError(f"未知类别「{value}」，可选：{choices}")
