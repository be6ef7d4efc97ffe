"""The supervision office's queues (/office/…): requests to decide, return visits due, overdue
explanations to rule on, notices (draft, issue, download), export approvals (grant, revoke).

Thin like the API: each list is a selector over the visibility rule; each button posts a form
that one service acts on. A refusal is the API's: 404 when the record is not visible to the
user, 403 when they may not act, otherwise the queue again with the message beside the row's
form and at the top (400 / 409 / 412) — a stale form says so and the list shows the current state."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from supervision import selectors, services
from supervision.choices import ExplanationStatus, ItemStatus, NoticeStatus, RequestStatus, SuspicionStatus
from supervision.errors import DomainError
from supervision.exchange.documents import notice_docx
from supervision.models import ExportApproval, OverdueExplanation
from supervision.web.forms.duplicates import CONFIRM, DISMISS, LINK, SuspicionDecisionForm
from supervision.web.forms.office import (
    ApprovalForm,
    DecisionForm,
    ExportApprovalGrantForm,
    NoticeDraftForm,
    ReturnVisitForm,
    RevokeForm,
    RulingForm,
)
from supervision.web.refusals import require_office, show_on_forms

PER_PAGE = 20
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# The office's pages, in the order of its nav.
QUEUES = (
    ("web-office-approvals", gettext_lazy("待主任审批")),
    ("web-office-requests", gettext_lazy("待审批申请")),
    ("web-office-return-visits", gettext_lazy("待回访复核")),
    ("web-office-explanations", gettext_lazy("待认定超期说明")),
    ("web-office-duplicates", gettext_lazy("疑似重复")),
    ("web-office-notices", gettext_lazy("通报")),
    ("web-office-export-approvals", gettext_lazy("涉密导出审批")),
)


def _queues_with_counts(user) -> list[tuple[str, str, selectors.CappedCount | None]]:
    """The nav with what waits in each queue, counted by the workbench's own selectors, exactly up
    to selectors.COUNT_CAP and "more than" beyond (at a million items the return visits alone
    number hundreds of thousands; selectors/counting.py)."""
    count = selectors.capped_count
    waiting = {
        "web-office-approvals": count(selectors.item_list(user=user).filter(status=ItemStatus.AWAITING_APPROVAL)),
        "web-office-requests": count(selectors.todo_requests_to_decide(user=user)),
        "web-office-return-visits": count(selectors.todo_return_visits_due(user=user)),
        "web-office-explanations": count(selectors.todo_explanations_owed(user=user)),
        "web-office-duplicates": count(selectors.suspicion_list(user=user).filter(status=SuspicionStatus.PENDING)),
        "web-office-notices": count(selectors.notice_list(user=user).filter(status=NoticeStatus.DRAFT)),
    }
    return [(name, label, waiting.get(name)) for name, label in QUEUES]


def _queue(
    request: HttpRequest,
    *,
    template: str,
    rows,
    form_for: Callable,
    failed: tuple[int, object] | None = None,
    refusals=(),
    status: int = 200,
    **extra,
) -> HttpResponse:
    """One page of a queue, each row with its form (the failed one bound, with its errors); the
    queue counted no further than the cap or one row past the page (selectors.CappedPaginator)."""
    number = request.GET.get("page")
    paginator = selectors.CappedPaginator(rows, PER_PAGE, page_number=number)
    page = paginator.get_page(number)
    for row in page:
        row.form = failed[1] if failed and failed[0] == row.pk else form_for(row)
    context = {
        "page": page,
        "count": paginator.total,
        "refusals": list(refusals),
        "queues": _queues_with_counts(request.user),
        "current": request.resolver_match.url_name,
        **extra,
    }
    return render(request, template, context, status=status)


def _act(request: HttpRequest, form, *, pk: int, again: Callable, act: Callable, done: str, then: str) -> HttpResponse:
    """Validate the form, let the service act, or show the queue again with the refusal."""
    if not form.is_valid():
        return again(request, failed=(pk, form), status=400)
    try:
        act(form.cleaned_data)
    except DomainError as exc:
        return again(request, failed=(pk, form), refusals=show_on_forms(exc, form), status=exc.status_code)
    messages.success(request, done)
    return redirect(then)


# Items a 督查员 registered, awaiting the 督查室主任's approval before assignment (when required).


def _approvals_due(request, failed=None, refusals=(), status=200):
    rows = selectors.item_list(user=request.user).filter(status=ItemStatus.AWAITING_APPROVAL).order_by("updated_at", "id")
    return _queue(
        request,
        template="web/office/item_approvals.html",
        rows=rows,
        form_for=lambda item: ApprovalForm(initial={"version": item.version}, prefix=f"i{item.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
    )


@login_required
@require_GET
def item_approval_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _approvals_due(request)


@login_required
@require_POST
def item_approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    try:
        item = selectors.item_get(user=request.user, pk=pk)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    form = ApprovalForm(request.POST, prefix=f"i{pk}")

    def act(data):
        if data["decision"] == "approve":
            services.item_approve(actor=request.user, item=item, comment=data["comment"], expected_version=data["version"])
        else:
            services.item_approval_return(actor=request.user, item=item, reason=data["comment"], expected_version=data["version"])

    done = _("已处理：%(code)s") % {"code": item.code}
    return _act(request, form, pk=pk, again=_approvals_due, act=act, done=done, then="web-office-approvals")


# Requests (延期、办结、暂停、撤销申请) awaiting the office.


def _requests(request, failed=None, refusals=(), status=200):
    rows = (
        selectors.request_list(user=request.user)
        .filter(status=RequestStatus.PENDING)
        .select_related("item__lead_unit")
        .order_by("requested_at", "id")
    )
    return _queue(
        request,
        template="web/office/requests.html",
        rows=rows,
        form_for=lambda r: DecisionForm(initial={"version": r.item.version}, prefix=f"r{r.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
    )


@login_required
@require_GET
def request_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _requests(request)


@login_required
@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    target = selectors.request_list(user=request.user).filter(pk=pk).first()
    if target is None:
        raise Http404(_("记录不存在。"))
    form = DecisionForm(request.POST, prefix=f"r{pk}")

    def act(data):
        services.item_request_decide(
            actor=request.user,
            request=target,
            approve=data["decision"] == "approve",
            comment=data["comment"],
            expected_version=data["version"],
        )

    done = _("已审批：%(code)s %(kind)s") % {"code": target.item.code, "kind": target.get_kind_display()}
    return _act(request, form, pk=pk, again=_requests, act=act, done=done, then="web-office-requests")


# Return visits (回访复核) of closed items.


def _return_visits(request, failed=None, refusals=(), status=200):
    rows = selectors.item_list(user=request.user).filter(status=ItemStatus.CLOSED).order_by("closed_at", "id")
    return _queue(
        request,
        template="web/office/return_visits.html",
        rows=rows,
        form_for=lambda item: ReturnVisitForm(initial={"version": item.version}, prefix=f"v{item.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
    )


@login_required
@require_GET
def return_visit_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _return_visits(request)


@login_required
@require_POST
def return_visit_record(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    try:
        item = selectors.item_get(user=request.user, pk=pk)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    form = ReturnVisitForm(request.POST, prefix=f"v{pk}")

    def act(data):
        services.return_visit_create(
            actor=request.user,
            item=item,
            result=data["result"],
            findings=data["findings"],
            visited_on=data["visited_on"],
            new_deadline=data["new_deadline"],
            expected_version=data["version"],
        )

    done = _("已记录回访复核：%(code)s") % {"code": item.code}
    return _act(request, form, pk=pk, again=_return_visits, act=act, done=done, then="web-office-return-visits")


# Overdue explanations (超期说明) to rule on: filed ones, and unfiled ones past their due date.


def _explanations(request, failed=None, refusals=(), status=200):
    owed = Q(status=ExplanationStatus.SUBMITTED) | Q(status=ExplanationStatus.AWAITING, due_by__lt=timezone.localdate())
    rows = selectors.explanation_list(user=request.user).filter(owed).order_by("due_by", "id")
    return _queue(
        request,
        template="web/office/explanations.html",
        rows=rows,
        form_for=lambda e: RulingForm(prefix=f"e{e.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
    )


@login_required
@require_GET
def explanation_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _explanations(request)


@login_required
@require_POST
def explanation_rule(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    # The service decides visibility (404) and who may rule (403), as the API's view does.
    target = OverdueExplanation.objects.select_related("item").filter(pk=pk).first()
    if target is None:
        raise Http404(_("记录不存在。"))
    form = RulingForm(request.POST, prefix=f"e{pk}")

    def act(data):
        services.overdue_explanation_rule(
            actor=request.user,
            explanation=target,
            ruling=data["ruling"],
            comment=data["comment"],
            departments=data["departments"] or None,
        )

    done = _("已认定：%(code)s") % {"code": target.item.code}
    return _act(request, form, pk=pk, again=_explanations, act=act, done=done, then="web-office-explanations")


# 疑似重复 (减负, DOMAIN.md rule 12): items from OA intake or an import that may be the same matter
# as one on the ledger. A person decides: confirmed and merged (合并督办, counted once), confirmed
# only, or dismissed (never raised again). Nothing is merged otherwise.


def _suspicions(request, failed=None, refusals=(), status=200):
    rows = selectors.suspicion_list(user=request.user).filter(status=SuspicionStatus.PENDING).order_by("created_at", "id")
    return _queue(
        request,
        template="web/office/duplicates.html",
        rows=rows,
        form_for=lambda s: SuspicionDecisionForm(prefix=f"s{s.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
    )


@login_required
@require_GET
def suspicion_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _suspicions(request)


@login_required
@require_POST
def suspicion_decide(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    try:
        suspicion = selectors.suspicion_get(user=request.user, pk=pk)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    form = SuspicionDecisionForm(request.POST, prefix=f"s{pk}")
    decision = request.POST.get(form.add_prefix("decision"))

    def act(data):
        confirm, link = data["decision"] in (LINK, CONFIRM), data["decision"] == LINK
        services.suspicion_decide(
            actor=request.user, suspicion=suspicion, confirm=confirm, link=link, count_once=True, comment=data["comment"]
        )

    done = {
        LINK: _("已确认重复并合并督办：%(item)s 并入 %(candidate)s，统计时只计一次。"),
        CONFIRM: _("已确认 %(item)s 与 %(candidate)s 是重复事项（未合并督办）。"),
        DISMISS: _("已排除：%(item)s 与 %(candidate)s 不是重复事项，不再提示。"),
    }.get(decision, "") % {"item": suspicion.item.code, "candidate": suspicion.candidate.code}
    return _act(request, form, pk=pk, again=_suspicions, act=act, done=done, then="web-office-duplicates")


# Notices (通报): draft from ledger codes, issue with a number, download as .docx.


def _notices(request, failed=None, refusals=(), status=200, draft_form=None):
    rows = selectors.notice_list(user=request.user).order_by("-created_at", "-id")
    return _queue(
        request,
        template="web/office/notices.html",
        rows=rows,
        form_for=lambda n: None,
        failed=failed,
        refusals=refusals,
        status=status,
        draft_form=draft_form or NoticeDraftForm(user=request.user),
    )


@login_required
@require_GET
def notice_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _notices(request)


@login_required
@require_POST
def notice_draft(request: HttpRequest) -> HttpResponse:
    require_office(request)
    form = NoticeDraftForm(request.POST, user=request.user)
    if not form.is_valid():
        return _notices(request, status=400, draft_form=form)
    try:
        notice = services.notice_create(actor=request.user, **form.service_fields())
    except DomainError as exc:
        return _notices(request, refusals=show_on_forms(exc, form), status=exc.status_code, draft_form=form)
    messages.success(request, _("通报草稿“%(title)s”已保存，核对后印发。") % {"title": notice.title})
    return redirect("web-office-notices")


@login_required
@require_POST
def notice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    notice = _notice(request, pk)
    try:
        notice = services.notice_issue(actor=request.user, notice=notice)
    except DomainError as exc:
        return _notices(request, refusals=show_on_forms(exc), status=exc.status_code)
    messages.success(request, _("通报已印发：%(number)s") % {"number": notice.number})
    return redirect("web-office-notices")


def _notice(request: HttpRequest, pk: int):
    try:
        return selectors.notice_get(user=request.user, pk=pk)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc


@login_required
@require_GET
def notice_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice as Word, with only the rows this reader may see (as the API's .docx)."""
    require_office(request)
    notice = _notice(request, pk)
    name = f"{notice.number or '通报草稿-' + str(notice.pk)} {notice.title}"[:120].replace("/", "-") + ".docx"
    response = HttpResponse(notice_docx(notice, entries=notice.visible_entries), content_type=DOCX)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


# Export approvals (涉密导出审批): grant, revoke.


def _approvals(request, failed=None, refusals=(), status=200, grant_form=None):
    rows = (
        ExportApproval.objects.visible_to(request.user)
        .select_related("grantee__unit", "approved_by", "revoked_by")
        .order_by("-approved_at", "-id")
    )
    return _queue(
        request,
        template="web/office/export_approvals.html",
        rows=rows,
        form_for=lambda a: RevokeForm(prefix=f"a{a.pk}"),
        failed=failed,
        refusals=refusals,
        status=status,
        grant_form=grant_form or ExportApprovalGrantForm(),
        today=timezone.localdate(),
    )


@login_required
@require_GET
def export_approval_queue(request: HttpRequest) -> HttpResponse:
    require_office(request)
    return _approvals(request)


@login_required
@require_POST
def export_approval_grant(request: HttpRequest) -> HttpResponse:
    require_office(request)
    form = ExportApprovalGrantForm(request.POST)
    if not form.is_valid():
        return _approvals(request, status=400, grant_form=form)
    try:
        approval = services.export_approval_grant(actor=request.user, **form.cleaned_data)
    except DomainError as exc:
        return _approvals(request, refusals=show_on_forms(exc, form), status=exc.status_code, grant_form=form)
    messages.success(
        request,
        _("已批准 %(who)s 导出%(level)s事项。") % {"who": approval.grantee, "level": approval.get_classification_display()},
    )
    return redirect("web-office-export-approvals")


@login_required
@require_POST
def export_approval_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    approval = ExportApproval.objects.visible_to(request.user).filter(pk=pk).first()
    if approval is None:
        raise Http404(_("记录不存在。"))
    form = RevokeForm(request.POST, prefix=f"a{pk}")

    def act(data):
        services.export_approval_revoke(actor=request.user, approval=approval, reason=data["reason"])

    done = _("已撤销 %(who)s 的导出审批。") % {"who": approval.grantee}
    return _act(request, form, pk=pk, again=_approvals, act=act, done=done, then="web-office-export-approvals")
