"""Classifier package. Temporary keyword baseline until the jieba model lands (issue 3)."""

from __future__ import annotations

from functools import lru_cache

from core.classify import Classification
from core.taxonomy import Category, Urgency

_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.NEIGHBOR: ("漏水", "楼上", "邻居", "装修", "堆物"),
    Category.PROPERTY: ("电梯", "门禁", "楼道灯", "物业"),
    Category.SANITATION: ("垃圾", "异味", "臭"),
    Category.GREENING: ("树", "草坪", "绿地"),
    Category.FACILITIES: ("路灯", "井盖", "坑", "下水道"),
    Category.UTILITIES: ("停水", "停电", "燃气", "暖气", "水压"),
    Category.SAFETY_HAZARD: ("充电", "消防通道", "高空抛物"),
    Category.NOISE: ("噪音", "广场舞", "施工"),
    Category.ELDERLY_CARE: ("买菜", "送药", "独居老人"),
}
_EMERGENCY = ("着火", "冒烟", "煤气味", "晕倒", "困人", "摔倒")


class KeywordClassifier:
    def classify(self, text: str) -> Classification:
        text = text or ""
        for category, words in _KEYWORDS.items():
            if any(w in text for w in words):
                urgent = any(w in text for w in _EMERGENCY)
                return Classification(True, category, Urgency.EMERGENCY if urgent else Urgency.NORMAL, 0.6)
        if any(w in text for w in _EMERGENCY):
            return Classification(True, Category.OTHER, Urgency.EMERGENCY, 0.6)
        return Classification(False, Category.CHATTER, Urgency.NORMAL, 0.6)


@lru_cache(maxsize=1)
def default_classifier() -> KeywordClassifier:
    return KeywordClassifier()
