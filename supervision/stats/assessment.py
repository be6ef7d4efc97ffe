"""考核 scores, explainable (issue 14): a score per lead unit for the period (a quarter, usually),
computed from the figures with the weights the office sets in the admin (FigureRules). Every
score is the sum of its terms, and every term says what it counted, the weight and the points, and
opens into its items: a drill-down to the items list (the same as the unit ranking's figures) or,
for notices and accountability rulings, the items they name.

Terms (weights from FigureRules; the points of each term rounded to 2 places, the score is their sum):
- base: the base score;
- on_time_rate: the unit's on-time rate by the ORIGINAL deadline (lead items due in the period)
  × the weight for 100%; no item due: 0 points (nothing to reward);
- overdue: lead items overdue now × the weight per item;
- stale: lead items assigned in the period and stale now × the weight per item;
- relapsed: lead items with a failed return visit in the period × the weight per item;
- praise, criticism: entries naming the unit in praise / criticism notices issued in the period,
  on items the viewer may see × the weight per entry;
- accountability: overdue explanations of the unit ruled 问责 in the period, on visible items ×
  the weight per ruling.
Three queries on top of the unit ranking, whatever the ledger size."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q

from supervision.choices import NoticeKind, NoticeStatus, Ruling
from supervision.models import FigureRules, NoticeEntry, OverdueExplanation
from supervision.stats.figures import by_unit
from supervision.stats.scope import Scope, date_range_q

TERMS = ("base", "on_time_rate", "overdue", "stale", "relapsed", "praise", "criticism", "accountability")
LABELS = {
    "base": "基础分",
    "on_time_rate": "按原定时限按时办结率",
    "overdue": "超期",
    "stale": "停滞",
    "relapsed": "反弹",
    "praise": "表扬通报",
    "criticism": "批评通报",
    "accountability": "问责认定",
}
CENT = Decimal("0.01")


def _points(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _named_items(scope: Scope) -> dict[tuple[int, str], list[dict]]:
    """(unit id, term) → the items the notices and rulings of the period name (visible items only)."""
    visible = scope.items.values("pk")
    found: dict[tuple[int, str], list[dict]] = {}
    entries = NoticeEntry.objects.filter(
        Q(notice__status=NoticeStatus.ISSUED, notice__kind__in=(NoticeKind.PRAISE, NoticeKind.CRITICISM), item__in=visible)
        & date_range_q("notice__issued_at", scope.period.start, scope.period.end)
    ).values_list("unit_id", "notice__kind", "item_id", "item__code", "notice__number")
    for unit_id, kind, item_id, code, number in entries.order_by("notice__issued_at", "position"):
        found.setdefault((unit_id, kind), []).append({"id": item_id, "code": code, "source": number or ""})
    rulings = OverdueExplanation.objects.filter(
        Q(ruling=Ruling.ACCOUNTABILITY, item__in=visible) & date_range_q("ruled_at", scope.period.start, scope.period.end)
    ).values_list("unit_id", "item_id", "item__code")
    for unit_id, item_id, code in rulings.order_by("ruled_at", "pk"):
        found.setdefault((unit_id, "accountability"), []).append({"id": item_id, "code": code, "source": ""})
    return found


def unit_scores(scope: Scope) -> list[dict]:
    """Per lead unit (those in the unit ranking, i.e. with items in scope): the score and its terms,
    highest score first."""
    rules = FigureRules.current()
    named = _named_items(scope)
    results = []
    for row in by_unit(scope, order="name"):
        lead, unit_id = row["lead"], row["unit"]["id"]
        on_time = lead["on_time_rate_original"]
        terms = [
            {"term": "base", "value": 1, "weight": rules.score_base, "drilldown": None},
            {
                "term": "on_time_rate",
                "value": on_time,
                "weight": rules.score_on_time_rate,
                "count": lead["closed_on_time_original"]["count"],
                "of": lead["due"]["count"],
                "drilldown": lead["closed_on_time_original"]["drilldown"],
            },
        ]
        for term in ("overdue", "stale", "relapsed"):
            terms.append(
                {
                    "term": term,
                    "value": lead[term]["count"],
                    "weight": getattr(rules, f"score_{term}"),
                    "drilldown": lead[term]["drilldown"],
                }
            )
        for term, key in (
            ("praise", NoticeKind.PRAISE),
            ("criticism", NoticeKind.CRITICISM),
            ("accountability", "accountability"),
        ):
            items = named.get((unit_id, key), [])
            terms.append(
                {"term": term, "value": len(items), "weight": getattr(rules, f"score_{term}"), "items": items, "drilldown": None}
            )
        score = Decimal(0)
        for term in terms:
            points = Decimal(str(term["value"] or 0)) * Decimal(term["weight"])
            term["points"] = _points(points)
            term["weight"] = float(term["weight"])
            term["label"] = LABELS[term["term"]]
            term.setdefault("items", None)
            score += Decimal(str(term["points"]))
        results.append({"unit": row["unit"], "score": _points(score), "terms": terms})
    results.sort(key=lambda r: (-r["score"], r["unit"]["name"]))
    return results
