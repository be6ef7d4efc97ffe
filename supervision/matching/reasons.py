"""Reasons in Chinese for a comparison: what the office reads before it confirms or dismisses.

「同一牵头单位（县住建局），事项名称相似度 0.86，地点一致（城北）」 or 「地点不同（城北 / 城南）」.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervision.matching.entities import KIND_LABELS, PLACE_KINDS

if TYPE_CHECKING:
    from supervision.matching.score import Signature

_CN = "零一二三四五六七八九"
# How a conflict of each kind is worded; places share one word, since 「地点不同」 is what people say.
_CONFLICT_WORDS = {
    **{kind: "地点" for kind in PLACE_KINDS},
    "market": "地点",
    "school": "学校",
    "hospital": "机构",
    "firm": "企业",
    "code": "道路编号",
    "year": "年份",
    "text_year": "年份",
    "phase": "期次",
    "batch": "批次",
    "round": "轮次",
    "ordinal": "序号",
    "quarter": "季度",
    "half": "时段",
    "month": "月份",
    "season": "季节",
    "festival": "时段",
}


def _cn_number(text: str) -> str:
    """3 → 三, 12 → 十二: how phases and batches are written."""
    if not text.isdigit() or int(text) >= 100:
        return text
    n = int(text)
    if n < 10:
        return _CN[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


def show(kind: str, value: str) -> str:
    """One entity as people write it."""
    if kind == "area":
        return f"城{value}"
    if kind in ("year", "text_year"):
        return value
    if kind == "phase":
        return f"{_cn_number(value)}期"
    if kind == "batch":
        return f"第{_cn_number(value)}批"
    if kind == "round":
        return f"第{_cn_number(value)}轮"
    if kind == "quarter":
        return f"{_cn_number(value)}季度"
    if kind == "half":
        return f"{value}半年"
    if kind == "month":
        return f"{value}月"
    if kind == "season":
        return f"{value}季"
    if kind == "ordinal":
        return f"第{_cn_number(value[1:])}{value[0]}"
    if kind == "code":
        return value.upper()
    return value


def conflict(kind: str, values_a: list[str], values_b: list[str]) -> str:
    """「地点不同（城北 / 城南）」."""
    word = _CONFLICT_WORDS.get(kind, KIND_LABELS.get(kind, kind))
    left = "、".join(show(kind, v) for v in values_a)
    right = "、".join(show(kind, v) for v in values_b)
    return f"{word}不同（{left} / {right}）"


def _agreement(kind: str, values: list[str]) -> str:
    word = _CONFLICT_WORDS.get(kind, KIND_LABELS.get(kind, kind))
    return f"{word}一致（{'、'.join(show(kind, v) for v in values)}）"


def explain(
    a: Signature,
    b: Signature,
    *,
    relation: str,
    title_sim: float,
    body_sim: float,
    swap: tuple[str, str] | None,
    conflicts: list[str],
    shared: list[tuple[str, list[str]]],
    same_instruction: bool,
) -> list[str]:
    """The reasons, most telling first: units, similarity, then what agrees and what differs."""
    out: list[str] = []
    if relation == "same":
        out.append(f"同一牵头单位（{a.lead_name or b.lead_name}）")
    elif relation == "supporting":
        out.append(f"牵头单位不同但互为配合单位（{a.lead_name} / {b.lead_name}）")
    elif relation == "different":
        out.append(f"牵头单位不同（{a.lead_name} / {b.lead_name}）")
    else:
        out.append("一方未填牵头单位")
    if same_instruction:
        out.append("同一批示件")
    out.append(f"事项名称相似度 {title_sim:.2f}")
    if body_sim > title_sim:
        out.append(f"名称和要求内容相似度 {body_sim:.2f}")
    seen_words = set()
    order = list(KIND_LABELS)
    for kind, values in sorted(shared, key=lambda item: order.index(item[0]) if item[0] in order else 99):
        if kind == "ordinal":  # 第一中学 already says it
            continue
        text = _agreement(kind, values)
        word = text.split("一致")[0]
        if word not in seen_words:  # one 「地点一致」 is enough
            seen_words.add(word)
            out.append(text)
    if swap:
        out.append(f"名称中的对象不同（{swap[0]} / {swap[1]}）")
    words = set()
    for text in conflicts:  # 「地点不同」 once, with the most telling names first
        word = text.split("不同")[0]
        if word not in words:
            words.add(word)
            out.append(text)
    return out
