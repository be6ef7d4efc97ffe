"""One instruction or meeting on the dashboard (issue 14): the picker's choices (the instructions
the viewer may see, found by 文号 or title) and the per-instruction view — its figures (the stats
summary with `instruction=<id>`, so they equal the API's) and its items with their lights, and
which of them are stale."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.http import Http404, QueryDict
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.filtersets import ItemFilterSet
from supervision.models import Instruction, Item
from supervision.stats import presenter
from supervision.stats.cache import cached
from supervision.stats.figures import summary as summary_figures

PICKER_LIMIT = 200  # the picker lists the most recent; a search narrows to any
ITEMS_PER_PAGE = 100


def instruction_choices(*, user: User, q: str = "", limit: int = PICKER_LIMIT) -> list[dict]:
    """Visible instructions that have items, newest first, matching `q` in the 文号 or the title."""
    # EXISTS, not a count of the items: newest first, PostgreSQL walks the instructions by date and
    # stops at the limit (a count grouped every instruction with its items: 0.5 s at a million items).
    qs = Instruction.objects.visible_to(user).filter(Exists(Item.objects.filter(instruction=OuterRef("pk"))))
    q = q.strip()
    if q:
        qs = qs.filter(Q(document_number__icontains=q) | Q(title__icontains=q))
    rows = qs.order_by("-issued_on", "-pk").values("pk", "document_number", "title", "issued_on")[:limit]
    return [
        {
            "id": r["pk"],
            "label": " ".join(part for part in (r["document_number"], r["title"]) if part),
            "issued_on": r["issued_on"],
        }
        for r in rows
    ]


def instruction_label(*, user: User, instruction_id) -> str:
    row = Instruction.objects.visible_to(user).filter(pk=instruction_id).values("document_number", "title").first()
    return " ".join(part for part in (row["document_number"], row["title"]) if part) if row else ""


def instruction_view(*, user: User, instruction_id: int, params: QueryDict) -> dict:
    """The page of one instruction: 404 unless the viewer may see it (the visibility rule)."""
    instruction = Instruction.objects.visible_to(user).filter(pk=instruction_id).first()
    if instruction is None:
        raise Http404(_("没有找到该批示件，或您无权查看。"))
    query = presenter.without_blanks(params).copy()
    query["instruction"] = str(instruction.pk)
    scope, _data = presenter.parse(user=user, params=query)
    summary, as_of = cached(scope, summary_figures)
    summary = presenter.with_rate_texts(presenter.with_page_links(summary))
    rows_query = QueryDict(mutable=True)
    rows_query.update({"instruction": str(instruction.pk), "ordering": "deadline,code"})
    page, rows = presenter.item_page(user=user, params=rows_query, per_page=ITEMS_PER_PAGE, page_number=params.get("page") or 1)
    stale = set(
        ItemFilterSet({"instruction": str(instruction.pk), "stale": "true"}, queryset=scope.items.model.objects.visible_to(user))
        .qs.filter(pk__in=[r.id for r in rows])
        .values_list("pk", flat=True)
    )
    for row in rows:
        row.stale = row.id in stale
    return {"instruction": instruction, "summary": summary, "as_of": as_of, "page": page, "rows": rows, "period": scope.period}
