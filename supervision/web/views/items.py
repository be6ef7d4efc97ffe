"""事项 page: the item's header, timeline and records, each through the visibility rule (404 for
an item the user may not see), and the actions this user may take now (web/actions.py)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification
from supervision import selectors
from supervision.choices import Light
from supervision.errors import InvalidInput, NotVisible
from supervision.models import ItemAssignment
from supervision.services.guards import is_unit_approver
from supervision.stats import presenter
from supervision.web import actions as policy
from supervision.web.forms.item_actions import LeaderCommentForm
from supervision.web.forms.items import PAGE_SIZES, LedgerFilterForm
from supervision.web.timeline import timeline
from supervision.workcalendar import workdays_between


def load_item(user, pk) -> policy.ItemContext:
    """The item and the records around it that the user may read; 404 if the item is not visible."""
    try:
        item = selectors.item_get(user=user, pk=pk)
    except NotVisible as exc:
        raise Http404 from exc
    assignments = list(ItemAssignment.objects.filter(item=item).select_related("unit", "acknowledged_by").order_by("role", "id"))
    requests = list(selectors.request_list(user=user).filter(item=item).order_by("-requested_at", "-id"))
    explanations = list(selectors.explanation_list(user=user).filter(item=item).order_by("-created_at", "-id"))
    # Who may sign is asked only about what waits for a signature (rule 14), usually nothing.
    waiting = policy.awaiting_signature_units(requests, explanations) if user.is_unit_user else set()
    return policy.ItemContext.build(
        user=user,
        item=item,
        assignments=assignments,
        requests=requests,
        explanations=explanations,
        referrals=list(selectors.referral_list(user=user, item=item)),
        signs_for={unit_id for unit_id in waiting if is_unit_approver(user, unit_id)},
        links=selectors.link_list(user=user)
        .filter(Q(item=item) | Q(lead=item), unlinked_at__isnull=True)
        .order_by("linked_at", "id"),
    )


def _deadline_facts(item) -> dict:
    facts = {"light_label": Light(item.light).label}
    if item.deadline:
        left = workdays_between(timezone.localdate(), item.deadline)
        facts.update(workdays_left=max(left, 0), overdue_workdays=max(-left, 0))
    return facts


def item_page_context(request: HttpRequest, ctx: policy.ItemContext) -> dict:
    user, item = request.user, ctx.item
    return {
        "item": item,
        "ctx": ctx,
        "lead": next((a for a in ctx.assignments if a.role == "lead"), None),
        "supporting": [a for a in ctx.assignments if a.role != "lead"],
        "classified": item.classification >= Classification.SECRET,
        "deadline": _deadline_facts(item),
        "actions": [(key, policy.LABELS[key]) for key in policy.item_actions(user, ctx)],
        "requests": [(r, policy.may_decide(user, r), policy.may_endorse(ctx, r)) for r in ctx.requests],
        "explanations": [
            (e, policy.may_explain(user, e), policy.may_rule(user, e), policy.may_endorse(ctx, e)) for e in ctx.explanations
        ],
        "referrals": [
            (r, policy.may_acknowledge_referral(user, r), policy.may_record_referral_outcome(user, r)) for r in ctx.referrals
        ],
        "comments": list(selectors.comment_list(user=user, item=item)),
        "may_comment": policy.may_comment(user),
        "comment_form": LeaderCommentForm(initial={"version": item.version}),
        "comment_action": {"title": _("批示、点评")},
        "comment_url": reverse("web-item-comment", args=[item.pk]),
        "reports": list(selectors.report_list(user=user, item=item).order_by("-submitted_at", "-id")),
        "return_visits": list(selectors.return_visit_list(item=item)),
        "events": timeline(selectors.audit_history(user=user, item=item)),
        "sheet": selectors.assignment_sheet_issued(instruction_id=item.instruction_id),
        "may_unlink": policy.may_unlink(user),
    }


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ctx = load_item(request.user, pk)
    return render(request, "web/items/detail.html", item_page_context(request, ctx))


EXACT = "exact"


def _filter_errors(exc: InvalidInput) -> list[str]:
    if not exc.fields:
        return [str(exc.message)]
    return [f"{LedgerFilterForm.label_for(k)}：{m}" for k, messages in exc.fields.items() for m in messages]


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    """台账: ItemFilterSet over the visible items, as /api/v1/items/; filters, order, page and
    page size all in the URL; 导出 Excel downloads the same list with the export's rules.

    The total is counted up to selectors.COUNT_CAP ("超过 1000 件" beyond: the office's whole
    ledger took most of the page's time to count); `?count=exact` counts it all, as the API's
    `count` — the "显示确切数目" link, which htmx swaps into place."""
    params = presenter.without_blanks(request.GET)
    size = params.get("page_size", "")
    per_page = int(size) if size.isdigit() and int(size) in PAGE_SIZES else PAGE_SIZES[0]
    exact = params.get("count") == EXACT
    query = params.copy()
    for key in ("page", "page_size", "count"):
        query.pop(key, None)
    with_exact = request.GET.copy()
    with_exact["count"] = EXACT
    context = {
        "form": LedgerFilterForm(request.GET or None, user=request.user),
        "query": query.urlencode(),
        "page_query": _without(request.GET, "page"),
        "exact_query": with_exact.urlencode(),
    }
    try:
        page, rows = presenter.item_page(
            user=request.user,
            params=query,
            page_number=request.GET.get("page") or 1,
            per_page=per_page,
            capped=not exact,
        )
    except InvalidInput as exc:
        context["errors"] = _filter_errors(exc)
        return render(request, "web/items/list.html", context, status=400)
    count = selectors.CappedCount(page.paginator.count) if exact else page.paginator.total
    context.update(page=page, rows=rows, count=count)
    return render(request, "web/items/list.html", context)


def _without(params, *keys) -> str:
    params = params.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()
