"""Scoring the detector on labelled pairs: precision, recall, F1 and the pairs it got wrong.

A labelled file has one JSON object a line:
``{"id": 1, "a": {"title", "text", "lead_unit", "source_kind"}, "b": {…}, "duplicate": true}``.
`supporting_units` (a list) and `instruction_ref` may be given too. Every fault in the file is
reported with its line number, in Chinese, before anything is scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from supervision.matching.score import MatterText, compare, duplicate_threshold, signature

_TEXT_FIELDS = ("title", "text", "lead_unit", "source_kind", "instruction_ref")


class PairsFileError(ValueError):
    """A labelled file that cannot be read; the message is Chinese and names the line."""


@dataclass(frozen=True)
class LabelledPair:
    id: int | str
    line: int
    a: MatterText
    b: MatterText
    duplicate: bool


@dataclass(frozen=True)
class Misjudged:
    id: int | str
    expected: bool
    score: float
    title_a: str
    title_b: str
    reasons: list[str]


@dataclass
class Evaluation:
    threshold: float
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misjudged: list[Misjudged] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _side(raw: object, name: str, line: int, source_kinds: frozenset[str] | None) -> MatterText:
    if not isinstance(raw, dict):
        raise PairsFileError(f"第 {line} 行：{name} 应为对象，包含 title、text、lead_unit、source_kind。")
    values: dict[str, str] = {}
    for key in _TEXT_FIELDS:
        value = raw.get(key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise PairsFileError(f"第 {line} 行：{name}.{key} 应为字符串。")
        values[key] = value.strip()
    if not values["title"]:
        raise PairsFileError(f"第 {line} 行：{name}.title 缺失或为空。")
    if source_kinds is not None and values["source_kind"] and values["source_kind"] not in source_kinds:
        known = "、".join(sorted(source_kinds))
        raise PairsFileError(f"第 {line} 行：{name}.source_kind「{values['source_kind']}」不是已知的来源类别（{known}）。")
    supporting = raw.get("supporting_units", [])
    if not isinstance(supporting, list) or not all(isinstance(unit, str) for unit in supporting):
        raise PairsFileError(f"第 {line} 行：{name}.supporting_units 应为字符串列表。")
    return MatterText(supporting_units=tuple(unit.strip() for unit in supporting if unit.strip()), **values)


def read_pairs(path: str | Path, *, source_kinds: Iterable[str] | None = None) -> list[LabelledPair]:
    """The labelled pairs of a file; PairsFileError (in Chinese, with the line) on any fault."""
    kinds = frozenset(source_kinds) if source_kinds is not None else None
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise PairsFileError(f"文件不存在：{path}") from None
    except IsADirectoryError:
        raise PairsFileError(f"这是一个目录，不是标注文件：{path}") from None
    except UnicodeDecodeError:
        raise PairsFileError(f"文件不是 UTF-8 编码的文本：{path}") from None
    except OSError as exc:
        raise PairsFileError(f"无法读取文件 {path}：{exc.strerror}") from None
    pairs: list[LabelledPair] = []
    seen: dict[int | str, int] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PairsFileError(f"第 {number} 行不是合法的 JSON（第 {exc.colno} 列：{exc.msg}）。") from None
        if not isinstance(raw, dict):
            raise PairsFileError(f"第 {number} 行应为一个 JSON 对象。")
        for key in ("id", "a", "b", "duplicate"):
            if key not in raw:
                raise PairsFileError(f"第 {number} 行缺少字段 {key}。")
        pair_id = raw["id"]
        if isinstance(pair_id, bool) or not isinstance(pair_id, int | str) or pair_id == "":
            raise PairsFileError(f"第 {number} 行：id 应为整数或非空字符串。")
        if pair_id in seen:
            raise PairsFileError(f"第 {number} 行：id {pair_id} 与第 {seen[pair_id]} 行重复。")
        seen[pair_id] = number
        if not isinstance(raw["duplicate"], bool):
            raise PairsFileError(f"第 {number} 行：duplicate 应为 true 或 false。")
        a = _side(raw["a"], "a", number, kinds)
        b = _side(raw["b"], "b", number, kinds)
        pairs.append(LabelledPair(id=pair_id, line=number, a=a, b=b, duplicate=raw["duplicate"]))
    if not pairs:
        raise PairsFileError(f"文件中没有标注对：{path}")
    return pairs


def evaluate(pairs: Iterable[LabelledPair], *, threshold: float | None = None) -> Evaluation:
    """Compare each pair with the detector and count what it got right and wrong."""
    limit = duplicate_threshold() if threshold is None else threshold
    result = Evaluation(threshold=limit)
    for pair in pairs:
        match = compare(signature(pair.a), signature(pair.b), threshold=limit)
        if match.duplicate and pair.duplicate:
            result.tp += 1
        elif not match.duplicate and not pair.duplicate:
            result.tn += 1
        else:
            if match.duplicate:
                result.fp += 1
            else:
                result.fn += 1
            result.misjudged.append(
                Misjudged(
                    id=pair.id,
                    expected=pair.duplicate,
                    score=match.score,
                    title_a=pair.a.title,
                    title_b=pair.b.title,
                    reasons=match.reasons,
                )
            )
    return result


def evaluate_file(path: str | Path, *, threshold: float | None = None, source_kinds: Iterable[str] | None = None) -> Evaluation:
    """read_pairs() then evaluate(): what `manage.py duplicate_pairs FILE` computes."""
    return evaluate(read_pairs(path, source_kinds=source_kinds), threshold=threshold)


def report_lines(result: Evaluation) -> list[str]:
    """The evaluation as people read it (Chinese), one line each."""
    duplicates = result.tp + result.fn
    lines = [
        f"标注对 {result.total} 个（重复 {duplicates}，不重复 {result.total - duplicates}），阈值 {result.threshold:.2f}",
        f"精确率 P = {result.precision:.3f}    召回率 R = {result.recall:.3f}    F1 = {result.f1:.3f}",
        f"TP {result.tp}    FP {result.fp}    FN {result.fn}    TN {result.tn}",
    ]
    if not result.misjudged:
        lines.append("误判：无")
        return lines
    lines.append(f"误判 {len(result.misjudged)} 个（id、得分、理由）：")
    for item in sorted(result.misjudged, key=lambda m: (m.expected, -m.score)):
        kind = "漏报（应为重复）" if item.expected else "误报（应为不重复）"
        lines.append(f"  #{item.id} {kind} 得分 {item.score:.3f}：{item.title_a} ↔ {item.title_b}")
        lines.append(f"      {'；'.join(item.reasons)}")
    return lines
