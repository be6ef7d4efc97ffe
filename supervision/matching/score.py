"""Signatures of matters and their comparison: a score, a decision and reasons people can read.

A signature holds everything about one item that a comparison needs, computed once (segmentation and
entity extraction take a millisecond or so; comparing two signatures takes microseconds), so a lookup
can score a unit's few thousand open items in well under 100 ms.

The score says how alike the two matters read: the share of each side's word weight that the other
side covers, over the title and over title plus requirement text. Then the units: a different lead
unit pulls it down hard. Two titles made from one template that differ in one slot (县中医院「门诊」楼改造
/ 县中医院「住院」楼改造) are pulled down too. A conflict — both name a place, object, year, phase or batch
and share none — means two matters whatever the score.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from supervision.matching import entities, reasons
from supervision.matching.slots import frame, frame_words, slot_swap
from supervision.matching.text import normalise, word_weight, words
from supervision.matching.units import strip_unit_names, unit_key

# Raising it needs a data migration that recomputes the stored signatures (services.signatures_refresh):
# a stale one is recomputed when it is parsed, but PostgreSQL's pool index (migration 0029) scores
# items from the stored weights before any is parsed.
SIGNATURE_VERSION = 1
_BRACKETS = str.maketrans(
    {"〔": "[", "〕": "]", "［": "[", "］": "]", "(": "[", ")": "]", "（": "[", "）": "]", "【": "[", "】": "]"}
)
DEFAULT_THRESHOLD = 0.62

# How units move the score: the same matter is chased at one lead unit.
UNIT_FACTORS = {"same": 1.0, "supporting": 0.85, "unknown": 0.92, "different": 0.55}
SLOT_SWAP_FACTOR = 0.75  # one slot of a shared template filled differently
CONFLICT_FACTOR = 0.6  # a conflicting pair ranks below plain candidates; its decision is no in any case
SAME_INSTRUCTION_BONUS = 0.05
TEXT_YEAR_TITLE_SIMILARITY = 0.9  # titles this alike leave the text's years to tell two items apart


_threshold: float | None = None


def duplicate_threshold() -> float:
    """The score from which two matters are taken as one: settings.DUPLICATE_MATCH_THRESHOLD, read
    once (and again when a test overrides it), else DEFAULT_THRESHOLD."""
    global _threshold
    if _threshold is None:
        _threshold = DEFAULT_THRESHOLD
        try:
            from django.conf import settings
            from django.core.signals import setting_changed

            if settings.configured:
                _threshold = float(getattr(settings, "DUPLICATE_MATCH_THRESHOLD", DEFAULT_THRESHOLD))
                setting_changed.connect(_forget_threshold, dispatch_uid="matching_threshold")
        except ImportError:  # used outside the service (bench)
            pass
    return _threshold


def _forget_threshold(*, setting: str, **kwargs) -> None:
    global _threshold
    if setting == "DUPLICATE_MATCH_THRESHOLD":
        _threshold = None


@dataclass(frozen=True)
class MatterText:
    """What the detector reads of an item: its title, requirement text, units, source and instruction."""

    title: str
    text: str = ""
    lead_unit: str = ""
    supporting_units: tuple[str, ...] = ()
    source_kind: str = ""
    instruction_ref: str = ""


@dataclass(frozen=True, slots=True)
class Signature:
    """One item, precomputed for comparison. Store it with to_json(); read it back with from_json().

    Words are kept as the weight each character carries (a word's weight spread over its characters):
    how much of one side the other covers is then one set intersection, and a word that the other side
    writes differently (实训楼 / 实训大楼, 县医院 / 县人民医院) still counts for the characters it shares.
    """

    title: str  # normalised title, for reasons
    title_chars: dict[str, float]  # character → weight, from the title's words
    body_chars: dict[str, float]  # the same over title and requirement text (unit names left out)
    has_text: bool
    frame: str  # title without framing words at its ends, for slot comparison
    frame_words: tuple[tuple[int, int, float], ...]
    entities: dict[str, frozenset[str]]
    lead: str  # unit key
    lead_name: str  # as written, for reasons
    units: frozenset[str]  # lead and supporting unit keys
    source_kind: str = ""
    instruction_ref: str = ""
    # Derived, not stored: rebuilt by from_json().
    title_weight: float = field(default=0.0)
    body_weight: float = field(default=0.0)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": SIGNATURE_VERSION,
                "title": self.title,
                "title_chars": self.title_chars,
                "body_chars": self.body_chars,
                "has_text": self.has_text,
                "frame": self.frame,
                "frame_words": [list(word) for word in self.frame_words],
                "entities": {kind: sorted(values) for kind, values in sorted(self.entities.items())},
                "lead": self.lead,
                "lead_name": self.lead_name,
                "units": sorted(self.units),
                "source_kind": self.source_kind,
                "instruction_ref": self.instruction_ref,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, data: str) -> Signature:
        raw = json.loads(data)
        if raw.get("v") != SIGNATURE_VERSION:
            raise ValueError(f"signature version {raw.get('v')!r} is not {SIGNATURE_VERSION}; compute it again")
        return _build(
            title=raw["title"],
            title_chars=raw["title_chars"],
            body_chars=raw["body_chars"],
            has_text=raw["has_text"],
            frame=raw["frame"],
            frame_words=tuple((int(s), int(e), float(w)) for s, e, w in raw["frame_words"]),
            entities={kind: frozenset(values) for kind, values in raw["entities"].items()},
            lead=raw["lead"],
            lead_name=raw["lead_name"],
            units=frozenset(raw["units"]),
            source_kind=raw["source_kind"],
            instruction_ref=raw["instruction_ref"],
        )


def _build(**fields) -> Signature:
    return Signature(
        **fields,
        title_weight=round(sum(fields["title_chars"].values()), 6),
        body_weight=round(sum(fields["body_chars"].values()), 6),
    )


def _char_weights(text: str) -> dict[str, float]:
    """Each word's weight spread over its characters, summed per character."""
    out: dict[str, float] = {}
    for word in words(text):
        share = word_weight(word) / len(word)
        for ch in word:
            out[ch] = out.get(ch, 0.0) + share
    return {ch: round(weight, 4) for ch, weight in out.items()}


def instruction_key(ref: str) -> str:
    """One spelling of a document number: 云办〔2026〕7号 = 云办[2026]7号 = 云办（2026）7号."""
    ref = unicodedata.normalize("NFKC", ref or "")
    return re.sub(r"\s+", "", ref.translate(_BRACKETS)).lower()


def signature(matter: MatterText) -> Signature:
    """Everything a comparison needs, computed once per item."""
    title = normalise(matter.title)
    text = normalise(matter.text)
    core = frame(title)
    lead = unit_key(matter.lead_unit)
    units = {lead} | {unit_key(name) for name in matter.supporting_units}
    units.discard("")
    return _build(
        title=title,
        title_chars=_char_weights(title),
        body_chars=_char_weights(f"{title} {normalise(strip_unit_names(matter.text))}".strip()),
        has_text=bool(text),
        frame=core,
        frame_words=frame_words(core),
        entities=entities.of_matter(title, text),
        lead=lead,
        lead_name=(matter.lead_unit or "").strip(),
        units=frozenset(units),
        source_kind=matter.source_kind or "",
        instruction_ref=instruction_key(matter.instruction_ref),
    )


class Match:
    """The comparison of two items: score 0..1, the decision, and why, in Chinese (`reasons`).

    The reasons are written when first read: a lookup scores thousands of items and shows a few.
    """

    __slots__ = ("score", "duplicate", "title_similarity", "body_similarity", "conflicts", "_a", "_b", "_facts", "_reasons")

    def __init__(self, *, score, duplicate, title_similarity, body_similarity, conflicts, a, b, facts):
        self.score: float = score
        self.duplicate: bool = duplicate
        self.title_similarity: float = title_similarity
        self.body_similarity: float = body_similarity
        self.conflicts: list[tuple[str, list[str], list[str]]] = conflicts
        self._a, self._b, self._facts = a, b, facts
        self._reasons: list[str] | None = None

    @property
    def reasons(self) -> list[str]:
        if self._reasons is None:
            self._reasons = reasons.explain(
                self._a,
                self._b,
                title_sim=self.title_similarity,
                body_sim=self.body_similarity,
                conflicts=[reasons.conflict(*c) for c in self.conflicts],
                shared=entities.shared(self._a.entities, self._b.entities),
                **self._facts,
            )
        return self._reasons

    def __repr__(self) -> str:
        return f"Match(score={self.score}, duplicate={self.duplicate}, reasons={self.reasons!r})"


def _similarity(ca: dict[str, float], wa: float, cb: dict[str, float], wb: float) -> float:
    """Mean of the shares of each side's weight that the other side's characters cover."""
    if not wa or not wb:
        return 0.0
    common = ca.keys() & cb.keys()
    return 0.5 * (sum(map(ca.__getitem__, common)) / wa + sum(map(cb.__getitem__, common)) / wb)


def _unit_relation(a: Signature, b: Signature) -> str:
    if not a.lead or not b.lead:
        return "unknown"
    if a.lead == b.lead:
        return "same"
    if a.lead in b.units or b.lead in a.units:
        return "supporting"
    return "different"


def conflicting(a: Signature, b: Signature) -> bool:
    """Whether a conflict alone tells the two matters apart: both name a place, object, phase, batch
    or number and share none (the text's years aside, which count only for near-equal titles). Then
    `compare(a, b).duplicate` is False whatever the score; this costs a fifth of `compare`, which
    matters when a batch of one template's titles (「第12项重点工作」) is checked pair by pair."""
    return entities.any_conflict(a.entities, b.entities, besides=entities.TEXT_YEAR)


def compare(a: Signature, b: Signature, threshold: float | None = None) -> Match:
    """Whether two items are the same matter at the same unit, with a score and reasons.

    `threshold` defaults to duplicate_threshold() (settings.DUPLICATE_MATCH_THRESHOLD).
    """
    title_sim = _similarity(a.title_chars, a.title_weight, b.title_chars, b.title_weight)
    body_sim = 0.0
    if a.has_text or b.has_text:
        body_sim = _similarity(a.body_chars, a.body_weight, b.body_chars, b.body_weight)
    same_instruction = bool(a.instruction_ref) and a.instruction_ref == b.instruction_ref
    # Items decomposed from one instruction quote its text in their requirements: text shared there is
    # expected, not evidence of one matter (燃气管道排查 and 危化品企业检查 of one 安全生产 meeting read
    # alike below their titles). Their titles tell them apart.
    score = title_sim if same_instruction else max(title_sim, body_sim)
    relation = _unit_relation(a, b)
    score *= UNIT_FACTORS[relation]
    if same_instruction:
        score += SAME_INSTRUCTION_BONUS
    swap = slot_swap(a, b) if score >= 0.3 else None
    if swap:
        score *= SLOT_SWAP_FACTOR
    conflicts = entities.conflicts(a.entities, b.entities)
    if conflicts and title_sim < TEXT_YEAR_TITLE_SIMILARITY:
        conflicts = [c for c in conflicts if c[0] != entities.TEXT_YEAR]
    if conflicts:
        score *= CONFLICT_FACTOR
    score = round(min(1.0, max(0.0, score)), 3)
    limit = duplicate_threshold() if threshold is None else threshold
    return Match(
        score=score,
        duplicate=score >= limit and not conflicts,
        title_similarity=round(title_sim, 3),
        body_similarity=round(body_sim, 3),
        conflicts=conflicts,
        a=a,
        b=b,
        facts={"relation": relation, "swap": swap, "same_instruction": same_instruction},
    )
