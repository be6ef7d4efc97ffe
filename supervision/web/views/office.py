"""The supervision office's queues (/office/…): requests to decide, return visits due, overdue
explanations to rule on, notices (draft, issue, download), export approvals (grant, revoke).

Thin like the API: each list is a selector over the visibility rule; each button posts a form
that one service acts on. A refusal is the API's: 404 when the record is not visible to the
user, 403 when they may not act, otherwise the queue again with the message beside the row's
form and at the top (400 / 409 / 412) — a stale form says so and the list shows the current state.

Every queue works the same way, so each is one `Queue` below (what it lists, the form on each
row, the service that form calls, what to say when done) and `_views` makes its two pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
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


@dataclass(frozen=True)
class Queue:
    """What one queue lists and what the button on each of its rows does; the rest is shared."""

    name: str  # the list's URL name: where a done action returns, and the nav's current entry
    template: str
    rows: Callable[[Any], QuerySet]  # user -> the rows, in order
    form: type[forms.Form] | None = None  # the form on each row, prefixed by `prefix` and the row's pk
    prefix: str = ""
    initial: Callable[[Any], dict] = lambda row: {}
    # The page's other context: (request, the form above the list when it is shown again, else None).
    extra: Callable[[HttpRequest, Any], dict] = lambda request, form: {}
    # The row's button: load (user, pk) -> the record, or None / DomainError when it is not there;
    # done (record, data) -> the message; act (actor, record, data) calls the service.
    load: Callable[..., Any] | None = None
    done: Callable[[Any, dict], str] | None = None
    act: Callable[[Any, Any, dict], object] | None = None

    def form_for(self, row):
        return self.form(initial=self.initial(row), prefix=f"{self.prefix}{row.pk}") if self.form else None


def _page(
    queue: Queue,
    request: HttpRequest,
    *,
    failed: tuple[int, object] | None = None,
    refusals=(),
    status: int = 200,
    top_form=None,
) -> HttpResponse:
    """One page of a queue, each row with its form (the failed one bound, with its errors); the
    queue counted no further than the cap or one row past the page (selectors.CappedPaginator)."""
    extra = queue.extra(request, top_form)
    number = request.GET.get("page")
    paginator = selectors.CappedPaginator(queue.rows(request.user), PER_PAGE, page_number=number)
    page = paginator.get_page(number)
    for row in page:
        row.form = failed[1] if failed and failed[0] == row.pk else queue.form_for(row)
    context = {
        "page": page,
        "count": paginator.total,
        "refusals": list(refusals),
        "queues": _queues_with_counts(request.user),
        "current": request.resolver_match.url_name,
        **extra,
    }
    return render(request, queue.template, context, status=status)


def _submit(request: HttpRequest, form, *, again: Callable[..., HttpResponse], act: Callable, then: str) -> HttpResponse:
    """Validate the form, let the service act (`act` returns what to tell the user), or show the
    queue again (`again`, bound to the form) with the refusal."""
    if not form.is_valid():
        return again(status=400)
    try:
        done = act(form.cleaned_data)
    except DomainError as exc:
        return again(refusals=show_on_forms(exc, form), status=exc.status_code)
    messages.success(request, done)
    return redirect(then)


def _load(load: Callable[..., Any], user, pk: int):
    """The record the button acts on; one the user may not see is a 404 like an absent one."""
    try:
        record = load(user=user, pk=pk)
    except DomainError as exc:
        raise Http404(str(exc.message)) from exc
    if record is None:
        raise Http404(_("记录不存在。"))
    return record


def _list_view(queue: Queue) -> Callable[[HttpRequest], HttpResponse]:
    @login_required
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        require_office(request)
        return _page(queue, request)

    return view


def _row_view(queue: Queue) -> Callable[[HttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        require_office(request)
        record = _load(queue.load, request.user, pk)
        form = queue.form(request.POST, prefix=f"{queue.prefix}{pk}")

        def act(data):
            done = queue.done(record, data)  # worded from the record as it was before the service acts
            queue.act(request.user, record, data)
            return done

        again = partial(_page, queue, request, failed=(pk, form))
        return _submit(request, form, again=again, act=act, then=queue.name)

    return view


def _views(queue: Queue):
    """The queue's list (GET) and its rows' button (POST)."""
    return _list_view(queue), _row_view(queue)


def _first(rows: Callable[..., QuerySet]) -> Callable[..., Any]:
    """A loader from a queryset (user -> rows): the row with that pk, or None."""
    return lambda *, user, pk: rows(user).filter(pk=pk).first()


def _version(item) -> dict:
    return {"version": item.version}


# Items a 督查员 registered, awaiting the 督查室主任's approval before assignment (when required).


def _approve_or_return(actor, item, data) -> None:
    if data["decision"] == "approve":
        services.item_approve(actor=actor, item=item, comment=data["comment"], expected_version=data["version"])
    else:
        services.item_approval_return(actor=actor, item=item, reason=data["comment"], expected_version=data["version"])


APPROVALS = Queue(
    name="web-office-approvals",
    template="web/office/item_approvals.html",
    rows=lambda user: selectors.item_list(user=user).filter(status=ItemStatus.AWAITING_APPROVAL).order_by("updated_at", "id"),
    form=ApprovalForm,
    prefix="i",
    initial=_version,
    load=selectors.item_get,
    done=lambda item, data: _("已处理：%(code)s") % {"code": item.code},
    act=_approve_or_return,
)
item_approval_queue, item_approval_decide = _views(APPROVALS)


# Requests (延期、办结、暂停、撤销申请) awaiting the office.


def _pending_requests(user) -> QuerySet:
    return (
        selectors.request_list(user=user)
        .filter(status=RequestStatus.PENDING)
        .select_related("item__lead_unit")
        .order_by("requested_at", "id")
    )


REQUESTS = Queue(
    name="web-office-requests",
    template="web/office/requests.html",
    rows=_pending_requests,
    form=DecisionForm,
    prefix="r",
    initial=lambda r: _version(r.item),
    load=_first(lambda user: selectors.request_list(user=user)),
    done=lambda r, data: _("已审批：%(code)s %(kind)s") % {"code": r.item.code, "kind": r.get_kind_display()},
    act=lambda actor, r, data: services.item_request_decide(
        actor=actor,
        request=r,
        approve=data["decision"] == "approve",
        comment=data["comment"],
        expected_version=data["version"],
    ),
)
request_queue, request_decide = _views(REQUESTS)


# Return visits (回访复核) of closed items.

RETURN_VISITS = Queue(
    name="web-office-return-visits",
    template="web/office/return_visits.html",
    rows=lambda user: selectors.item_list(user=user).filter(status=ItemStatus.CLOSED).order_by("closed_at", "id"),
    form=ReturnVisitForm,
    prefix="v",
    initial=_version,
    load=selectors.item_get,
    done=lambda item, data: _("已记录回访复核：%(code)s") % {"code": item.code},
    act=lambda actor, item, data: services.return_visit_create(
        actor=actor,
        item=item,
        result=data["result"],
        findings=data["findings"],
        visited_on=data["visited_on"],
        new_deadline=data["new_deadline"],
        expected_version=data["version"],
    ),
)
return_visit_queue, return_visit_record = _views(RETURN_VISITS)


# Overdue explanations (超期说明) to rule on: filed ones, and unfiled ones past their due date.


def _owed_explanations(user) -> QuerySet:
    owed = Q(status=ExplanationStatus.SUBMITTED) | Q(status=ExplanationStatus.AWAITING, due_by__lt=timezone.localdate())
    return selectors.explanation_list(user=user).filter(owed).order_by("due_by", "id")


EXPLANATIONS = Queue(
    name="web-office-explanations",
    template="web/office/explanations.html",
    rows=_owed_explanations,
    form=RulingForm,
    prefix="e",
    # Not narrowed to the user: the service decides visibility (404) and who may rule (403), as
    # the API's view does.
    load=_first(lambda user: OverdueExplanation.objects.select_related("item")),
    done=lambda e, data: _("已认定：%(code)s") % {"code": e.item.code},
    act=lambda actor, e, data: services.overdue_explanation_rule(
        actor=actor,
        explanation=e,
        ruling=data["ruling"],
        comment=data["comment"],
        departments=data["departments"] or None,
    ),
)
explanation_queue, explanation_rule = _views(EXPLANATIONS)


# 疑似重复 (减负, DOMAIN.md rule 12): items from OA intake or an import that may be the same matter
# as one on the ledger. A person decides: confirmed and merged (合并督办, counted once), confirmed
# only, or dismissed (never raised again). Nothing is merged otherwise.


def _suspicion_done(suspicion, data) -> str:
    said = {
        LINK: _("已确认重复并合并督办：%(item)s 并入 %(candidate)s，统计时只计一次。"),
        CONFIRM: _("已确认 %(item)s 与 %(candidate)s 是重复事项（未合并督办）。"),
        DISMISS: _("已排除：%(item)s 与 %(candidate)s 不是重复事项，不再提示。"),
    }
    return said[data["decision"]] % {"item": suspicion.item.code, "candidate": suspicion.candidate.code}


SUSPICIONS = Queue(
    name="web-office-duplicates",
    template="web/office/duplicates.html",
    rows=lambda user: selectors.suspicion_list(user=user).filter(status=SuspicionStatus.PENDING).order_by("created_at", "id"),
    form=SuspicionDecisionForm,
    prefix="s",
    load=selectors.suspicion_get,
    done=_suspicion_done,
    act=lambda actor, suspicion, data: services.suspicion_decide(
        actor=actor,
        suspicion=suspicion,
        confirm=data["decision"] in (LINK, CONFIRM),
        link=data["decision"] == LINK,
        count_once=True,
        comment=data["comment"],
    ),
)
suspicion_queue, suspicion_decide = _views(SUSPICIONS)


# Notices (通报): draft from ledger codes, issue with a number, download as .docx. No form per
# row: issuing is one button, and the draft form sits above the list.

NOTICES = Queue(
    name="web-office-notices",
    template="web/office/notices.html",
    rows=lambda user: selectors.notice_list(user=user).order_by("-created_at", "-id"),
    extra=lambda request, form: {"draft_form": form or NoticeDraftForm(user=request.user)},
)
notice_queue = _list_view(NOTICES)


@login_required
@require_POST
def notice_draft(request: HttpRequest) -> HttpResponse:
    require_office(request)
    form = NoticeDraftForm(request.POST, user=request.user)

    def act(data):
        notice = services.notice_create(actor=request.user, **form.service_fields())
        return _("通报草稿“%(title)s”已保存，核对后印发。") % {"title": notice.title}

    return _submit(request, form, again=partial(_page, NOTICES, request, top_form=form), act=act, then=NOTICES.name)


@login_required
@require_POST
def notice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    require_office(request)
    notice = _load(selectors.notice_get, request.user, pk)
    try:
        notice = services.notice_issue(actor=request.user, notice=notice)
    except DomainError as exc:
        return _page(NOTICES, request, refusals=show_on_forms(exc), status=exc.status_code)
    messages.success(request, _("通报已印发：%(number)s") % {"number": notice.number})
    return redirect(NOTICES.name)


@login_required
@require_GET
def notice_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice as Word, with only the rows this reader may see (as the API's .docx)."""
    require_office(request)
    notice = _load(selectors.notice_get, request.user, pk)
    name = f"{notice.number or '通报草稿-' + str(notice.pk)} {notice.title}"[:120].replace("/", "-") + ".docx"
    response = HttpResponse(notice_docx(notice, entries=notice.visible_entries), content_type=DOCX)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


# Export approvals (涉密导出审批): grant (the form above the list), revoke (each row's button).


def _export_approvals(user) -> QuerySet:
    return (
        ExportApproval.objects.visible_to(user)
        .select_related("grantee__unit", "approved_by", "revoked_by")
        .order_by("-approved_at", "-id")
    )


EXPORT_APPROVALS = Queue(
    name="web-office-export-approvals",
    template="web/office/export_approvals.html",
    rows=_export_approvals,
    form=RevokeForm,
    prefix="a",
    extra=lambda request, form: {"grant_form": form or ExportApprovalGrantForm(), "today": timezone.localdate()},
    load=_first(lambda user: ExportApproval.objects.visible_to(user)),
    done=lambda approval, data: _("已撤销 %(who)s 的导出审批。") % {"who": approval.grantee},
    act=lambda actor, approval, data: services.export_approval_revoke(actor=actor, approval=approval, reason=data["reason"]),
)
export_approval_queue, export_approval_revoke = _views(EXPORT_APPROVALS)


@login_required
@require_POST
def export_approval_grant(request: HttpRequest) -> HttpResponse:
    require_office(request)
    form = ExportApprovalGrantForm(request.POST)

    def act(data):
        approval = services.export_approval_grant(actor=request.user, **data)
        return _("已批准 %(who)s 导出%(level)s事项。") % {"who": approval.grantee, "level": approval.get_classification_display()}

    again = partial(_page, EXPORT_APPROVALS, request, top_form=form)
    return _submit(request, form, again=again, act=act, then=EXPORT_APPROVALS.name)
