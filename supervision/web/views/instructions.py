"""批示件 pages: registration with decomposition (批示件登记 + 分解立项, office staff), the list and
one instruction with its items. Thin: a form parses, one service or selector acts, a template
renders; the helpers for htmx (a new item row, the owner list, the working-day preview, the live
duplicate check) only read. An item that may duplicate one on the ledger (减负, DOMAIN.md rule 12)
comes back with its candidates under its row and a box to confirm it is another matter."""

from __future__ import annotations

import datetime
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.choices import Classification
from accounts.models import Unit
from supervision import selectors, services
from supervision.choices import LIGHT_LABELS, ItemStatus
from supervision.errors import DomainError
from supervision.filtersets import InstructionFilterSet
from supervision.web.forms.instructions import (
    InstructionEditForm,
    InstructionFilterForm,
    InstructionForm,
    ItemForm,
    ItemFormSet,
)
from supervision.web.refusals import require_office, show_on_forms
from supervision.workcalendar import add_workdays, calendar_preloaded, rest_day_warning

PER_PAGE = 20
WEEKDAYS = "一二三四五六日"


def _classification(data) -> int:
    try:
        value = int(data.get("classification", Classification.PUBLIC))
    except (TypeError, ValueError):
        return Classification.PUBLIC
    return value if value in Classification.values else Classification.PUBLIC


def _after_saving(request: HttpRequest, url: str) -> HttpResponse:
    """Go to the saved record: a redirect, or for htmx (the registration form is sent with it,
    for the upload's progress) an HX-Redirect, which the browser follows as a page load."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _done(items, *, assign: bool) -> str:
    """What became of the items: drafts, assigned, or (where the office requires it) waiting for
    the 督查室主任's approval."""
    if not assign:
        return _("已保存为草稿")
    if any(item.status == ItemStatus.AWAITING_APPROVAL for item in items):
        return _("已提交督查室主任审批，批准后交办")
    return _("已交办")


def _show_candidates(exc: DomainError, rows) -> None:
    """A possible duplicate: its candidates go under the row they concern."""
    index = exc.extra.get("item_index")
    if "candidates" in exc.extra and index is not None and 0 <= index < len(rows):
        rows[index].duplicate_candidates = exc.extra["candidates"]


def _param_ending(data, suffix: str) -> str:
    """The value of the one parameter named `…<suffix>` (htmx sends the row's own field)."""
    for key, value in data.items():
        if key == suffix or key.endswith("-" + suffix):
            return value
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def instruction_new(request: HttpRequest) -> HttpResponse:
    require_office(request)
    status, errors = 200, []
    if request.method == "POST":
        form = InstructionForm(request.POST, request.FILES, user=request.user)
        formset = ItemFormSet(request.POST, prefix="items", classification=_classification(request.POST))
        if form.is_valid() and formset.is_valid():
            # Rows left blank are not items; the rest go to the service in page order.
            rows = [f for f in formset.forms if f.has_changed()]
            try:
                instruction = services.instruction_register(
                    actor=request.user,
                    instruction=form.service_fields(),
                    items=[row.service_fields() for row in rows],
                    uploaded_files=form.cleaned_data.get("attachments") or [],
                    assign="assign" in request.POST,
                )
            except DomainError as exc:
                errors = show_on_forms(exc, form, by_prefix={f"items-{i}": row for i, row in enumerate(rows)})
                _show_candidates(exc, rows)
                status = exc.status_code
            else:
                done = _done(instruction.items.all(), assign="assign" in request.POST)
                messages.success(
                    request,
                    _("批示件“%(title)s”已登记，%(n)s 个事项%(done)s。")
                    % {"title": instruction.title, "n": len(rows), "done": done},
                )
                return _after_saving(request, reverse("web-instruction", args=[instruction.pk]))
        else:
            status = 400
        if status == 400 and request.FILES:
            errors.append(_("请重新选择附件（浏览器不会保留已选的文件）。"))
    else:
        form = InstructionForm(user=request.user, initial={"issued_on": timezone.localdate()})
        formset = ItemFormSet(prefix="items", classification=Classification.PUBLIC)
    context = {"form": form, "formset": formset, "refusals": errors, "today": timezone.localdate()}
    return render(request, "web/instructions/new.html", context, status=status)


def _instruction(request: HttpRequest, pk: int):
    instruction = selectors.instruction_list(user=request.user).filter(pk=pk).first()
    if instruction is None:
        raise Http404(_("记录不存在。"))
    return instruction


@login_required
@require_http_methods(["GET", "POST"])
def instruction_decompose(request: HttpRequest, pk: int) -> HttpResponse:
    """分解立项 later: more items under an instruction already registered."""
    require_office(request)
    instruction = _instruction(request, pk)
    status, errors = 200, []
    formset = ItemFormSet(request.POST or None, prefix="items", classification=instruction.classification)
    if request.method == "POST":
        rows = [f for f in formset.forms if f.has_changed()] if formset.is_valid() else None
        if rows is None:
            status = 400
        else:
            try:
                created = services.instruction_decompose(
                    actor=request.user,
                    instruction=instruction,
                    items=[row.service_fields() for row in rows],
                    assign="assign" in request.POST,
                )
            except DomainError as exc:
                errors = show_on_forms(exc, by_prefix={f"items-{i}": row for i, row in enumerate(rows)})
                _show_candidates(exc, rows)
                status = exc.status_code
            else:
                done = _done(created, assign="assign" in request.POST)
                messages.success(request, _("已分解立项 %(n)s 个事项，%(done)s。") % {"n": len(created), "done": done})
                return redirect("web-instruction", pk=instruction.pk)
    context = {"instruction": instruction, "formset": formset, "refusals": errors}
    return render(request, "web/instructions/decompose.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def instruction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    instruction = _instruction(request, pk)
    status, errors = 200, []
    if request.method == "POST":
        form = InstructionEditForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.instruction_update(
                    actor=request.user,
                    instruction=instruction,
                    expected_version=form.cleaned_data["version"],
                    **form.service_fields(),
                )
            except DomainError as exc:
                errors, status = show_on_forms(exc, form), exc.status_code
            else:
                messages.success(request, _("批示件已保存。"))
                return redirect("web-instruction", pk=instruction.pk)
        else:
            status = 400
    else:
        fields = {name: getattr(instruction, name) for name in services.INSTRUCTION_FIELDS}
        form = InstructionEditForm(user=request.user, initial={**fields, "version": instruction.version})
    context = {"instruction": instruction, "form": form, "refusals": errors}
    return render(request, "web/instructions/edit.html", context, status=status)


@login_required
@require_GET
def item_row(request: HttpRequest) -> HttpResponse:
    """One more blank item row (htmx), numbered after the rows already on the page."""
    require_office(request)
    try:
        index = max(0, min(int(request.GET.get("index", "0")), 49))
    except ValueError:
        index = 0
    form = ItemForm(prefix=f"items-{index}", classification=_classification(request.GET))
    return render(request, "web/instructions/_item_row.html", {"item_form": form, "number": index + 1})


@login_required
@require_GET
def owner_options(request: HttpRequest) -> HttpResponse:
    """The owner choices for a lead unit and classification (htmx), keeping the chosen one if it
    is still allowed."""
    require_office(request)
    form = ItemForm(prefix="x", classification=_classification(request.GET))
    unit_id = _param_ending(request.GET, "lead_unit")
    people = list(form.owner_queryset(unit_id))
    chosen = _param_ending(request.GET, "owner")
    context = {"people": people, "chosen": chosen, "unit_id": unit_id}
    return render(request, "web/instructions/_owner_options.html", context)


@login_required
@require_GET
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """The row's live duplicate check (htmx): what saving it would show, nothing saved. The
    parameters are the row's own (`items-0-title`…) and, on 分解立项, the instruction."""
    require_office(request)
    title_key = next((key for key in request.GET if key.endswith("-title")), "")
    prefix = title_key.removesuffix("-title")
    if not re.fullmatch(r"items-\d{1,2}", prefix):
        return HttpResponse("")
    form = ItemForm(request.GET, prefix=prefix)
    title = request.GET.get(f"{prefix}-title", "").strip()
    unit_ids = [request.GET.get(f"{prefix}-lead_unit", ""), *request.GET.getlist(f"{prefix}-supporting_units")]
    units = Unit.objects.filter(is_active=True).in_bulk([int(pk) for pk in unit_ids if pk.isdigit()])
    lead_id = unit_ids[0]
    lead_unit = units.get(int(lead_id)) if lead_id.isdigit() else None
    candidates = []
    if title and lead_unit is not None:
        raw = request.GET.get("instruction", "")
        instruction = selectors.instruction_list(user=request.user).filter(pk=raw).first() if raw.isdigit() else None
        found = services.duplicate_check(
            actor=request.user,
            title=title,
            requirement=request.GET.get(f"{prefix}-requirement", ""),
            lead_unit=lead_unit,
            supporting_units=[u for pk, u in units.items() if pk != lead_unit.pk],
            instruction=instruction,
        )
        candidates = [c.as_dict() for c in found]
    return render(request, "web/instructions/_duplicates.html", {"item_form": form, "candidates": candidates, "live": True})


@login_required
@require_GET
def workday_preview(request: HttpRequest) -> HttpResponse:
    """ "N working days from assignment" as a date, counted from today on the official calendar
    (supervision/workcalendar.py), as item_assign will count it if assigned today."""
    require_office(request)
    raw = _param_ending(request.GET, "deadline_workdays").strip()
    day = _param_ending(request.GET, "deadline").strip()
    if day and not raw:
        # A date deadline on a rest day is accepted, but said (as the API's `warnings`).
        try:
            warning = rest_day_warning(datetime.date.fromisoformat(day))
        except ValueError:
            warning = None
        return render(request, "web/instructions/_workdays.html", {"warning": warning})
    if not raw:
        return HttpResponse("")
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if not 1 <= n <= 365:
        return render(request, "web/instructions/_workdays.html", {"error": _("工作日数须为 1 至 365 的整数。")})
    today = timezone.localdate()
    try:
        deadline: datetime.date = add_workdays(today, n)
    except (DomainError, ValidationError) as exc:
        # E.g. a count reaching a year whose official calendar is not entered yet.
        message = exc.message if isinstance(exc, DomainError) else "；".join(exc.messages)
        return render(request, "web/instructions/_workdays.html", {"error": message})
    context = {"n": n, "today": today, "deadline": deadline, "weekday": WEEKDAYS[deadline.weekday()]}
    return render(request, "web/instructions/_workdays.html", context)


@login_required
@require_GET
def instruction_list(request: HttpRequest) -> HttpResponse:
    form = InstructionFilterForm(request.GET or None)
    filterset = InstructionFilterSet(request.GET, queryset=selectors.instruction_list(user=request.user), request=request)
    if not filterset.is_valid():
        errors = [
            f"{form.fields[name].label if name in form.fields else name}：{m}"
            for name, ms in filterset.errors.items()
            for m in ms
        ]
        return render(request, "web/instructions/list.html", {"form": form, "refusals": errors}, status=400)
    page = Paginator(filterset.qs.order_by("-issued_on", "-id"), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "count": page.paginator.count}
    return render(request, "web/instructions/list.html", context)


@login_required
@require_GET
def instruction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    instruction = _instruction(request, pk)
    # Only the items this user may see (a unit sees its own, not the other units').
    items = list(selectors.item_list(user=request.user).filter(instruction=instruction).order_by("code"))
    with calendar_preloaded():  # one read of the calendar for every row's rest-day check
        for item in items:
            item.light_label = LIGHT_LABELS.get(item.light, "")
            item.rest_day = rest_day_warning(item.deadline)
    sheet = selectors.assignment_sheet_issued(instruction_id=instruction.pk)
    context = {
        "instruction": instruction,
        "items": items,
        "sheet": sheet,
        "comments": list(selectors.comment_list(user=request.user, instruction=instruction)),
    }
    return render(request, "web/instructions/detail.html", context)


@login_required
@require_POST
def instruction_comment_read(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    """已阅 for a leader's comment on the whole instruction: it leaves the reader's 批示待阅."""
    instruction = _instruction(request, pk)
    comment = selectors.comment_list(user=request.user, instruction=instruction).filter(pk=comment_pk).first()
    if comment is None:
        raise Http404(_("记录不存在。"))
    services.comment_mark_read(actor=request.user, comment=comment)
    comment.is_read = True
    if request.headers.get("HX-Request"):
        return render(request, "web/items/_comment.html", {"c": comment, "instruction": instruction, "user": request.user})
    return redirect(reverse("web-instruction", args=[pk]) + "#comments")


@login_required
@require_POST
def assignment_sheet_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """印发督办通知单: numbered once (a second press finds the first); the .docx lists for each
    reader only the items they may see (the API's download)."""
    require_office(request)
    instruction = _instruction(request, pk)
    try:
        sheet, created = services.assignment_sheet_issue(actor=request.user, instruction=instruction)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("web-instruction", pk=pk)
    if created:
        messages.success(request, _("督办通知单已印发：%(number)s") % {"number": sheet.number})
    else:
        messages.info(request, _("该批示件的督办通知单已于此前印发：%(number)s") % {"number": sheet.number})
    return redirect("web-instruction", pk=pk)
