"""Two titles cut from one template: 「县第一中学学生[宿舍楼]建设」 / 「县第一中学学生[食堂]建设」.

Offices register recurring work from templates, so two items that read almost alike may differ in the
one slot that names the object. Re-wordings of one matter insert, drop or reorder words, or differ
only in framing verbs (治理/清理); a slot filled with two different content words is another matter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from supervision.matching.text import COMMON_WORDS, jieba_tokenize, word_weight

if TYPE_CHECKING:
    from supervision.matching.score import Signature

MIN_SLOT_WEIGHT = 3.0  # a slot counts when it holds a content word

# Framing at either end of a title: 「加快推进」…「项目」. What stays is the matter's own wording,
# which two titles written from one template share around the slot they differ in.
_LEADING = re.compile(
    r"^(?:(?:关于|群众反映|网民反映|群众举报|加快推进|加快|推进|推动|加强|切实|抓紧|做好|落实|解决|开展|进一步|全力|积极|规范)\s*)+"
)
_TRAILING = re.compile(r"(?:\s*(?:问题|项目|工程|工作|任务|进度|情况|事项|的批示|的通知|的建议))+$")


def frame(title: str) -> str:
    """A normalised title without framing words at its ends, spaces removed."""
    core = _TRAILING.sub("", _LEADING.sub("", title))
    return core.replace(" ", "") or title.replace(" ", "")


def frame_words(core: str) -> tuple[tuple[int, int, float], ...]:
    """(start, end, weight) of each word of a frame; framing words weigh nothing here."""
    out = []
    for word, start, end in jieba_tokenize(core):
        weight = 0.0 if word in COMMON_WORDS or len(word) == 1 else word_weight(word)
        out.append((start, end, weight))
    return tuple(out)


def slot_swap(a: Signature, b: Signature) -> tuple[str, str] | None:
    """The two fillers when both frames share a start (two characters or more) and an end around
    content words that have no character in common; None otherwise."""
    fa, fb = a.frame, b.frame
    limit = min(len(fa), len(fb))
    prefix = 0
    while prefix < limit and fa[prefix] == fb[prefix]:
        prefix += 1
    if prefix < 2:  # one shared character is no template
        return None
    suffix = 0
    while suffix < limit - prefix and fa[-1 - suffix] == fb[-1 - suffix]:
        suffix += 1
    if not suffix:
        return None
    mid_a, mid_b = fa[prefix : len(fa) - suffix], fb[prefix : len(fb) - suffix]
    if not mid_a or not mid_b or set(mid_a) & set(mid_b):
        return None
    slot_a = _slot(a.frame_words, prefix, len(fa) - suffix)
    slot_b = _slot(b.frame_words, prefix, len(fb) - suffix)
    if slot_a[1] < MIN_SLOT_WEIGHT or slot_b[1] < MIN_SLOT_WEIGHT:
        return None
    return fa[slot_a[0][0] : slot_a[0][1]], fb[slot_b[0][0] : slot_b[0][1]]


def _slot(spans: tuple[tuple[int, int, float], ...], start: int, end: int) -> tuple[tuple[int, int], float]:
    """The words that overlap [start, end) of a frame: their span and content weight."""
    first, last, weight = end, start, 0.0
    for s, e, w in spans:
        if s < end and e > start:
            first, last, weight = min(first, s), max(last, e), weight + w
    return (first, last), weight
