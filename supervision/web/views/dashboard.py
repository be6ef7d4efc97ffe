"""Dashboard pages: parse, call one selector, render. A bad filter is a 400 page with the
message in Chinese, never a 500."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from supervision.errors import InvalidInput
from supervision.stats import presenter as selectors
from supervision.stats.instruction import instruction_choices, instruction_view
from supervision.web.forms.dashboard import DashboardFilterForm


def _errors(exc: InvalidInput) -> list[str]:
    if not exc.fields:
        return [str(exc.message)]
    return [
        f"{DashboardFilterForm.label_for(field)}：{message}" for field, messages in exc.fields.items() for message in messages
    ]


def _query_without(request: HttpRequest, *keys: str) -> str:
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    return params.urlencode()


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    params = selectors.without_blanks(request.GET)
    context = {"form": DashboardFilterForm(params or None, user=request.user)}
    try:
        context.update(selectors.dashboard(user=request.user, params=params))
    except InvalidInput as exc:
        context["errors"] = _errors(exc)
        return render(request, "dashboard/dashboard.html", context, status=400)
    return render(request, "dashboard/dashboard.html", context)


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    context = {"query": _query_without(request, "page"), "title": _("督办事项")}
    try:
        params = selectors.without_blanks(request.GET)
        page, rows = selectors.item_page(user=request.user, params=params, page_number=request.GET.get("page") or 1)
    except InvalidInput as exc:
        context["errors"] = _errors(exc)
        return render(request, "dashboard/items.html", context, status=400)
    context.update({"page": page, "rows": rows, "count": page.paginator.count})
    return render(request, "dashboard/items.html", context)


@login_required
def instruction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One instruction or meeting: its figures, its items with lights, which are stale."""
    context = {"title": _("批示件落实情况")}
    try:
        context.update(instruction_view(user=request.user, instruction_id=pk, params=request.GET))
    except InvalidInput as exc:
        context["errors"] = _errors(exc)
        return render(request, "dashboard/instruction.html", context, status=400)
    return render(request, "dashboard/instruction.html", context)


@login_required
def instruction_options(request: HttpRequest) -> HttpResponse:
    """The picker's <option>s for a search by 文号 or title (fetched as the viewer types)."""
    choices = instruction_choices(user=request.user, q=request.GET.get("q", ""))
    return render(request, "dashboard/_instruction_options.html", {"choices": choices})
