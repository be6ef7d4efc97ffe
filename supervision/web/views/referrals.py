"""移交线索 (/referrals/): what the office referred to the discipline and organization departments,
read by them as cases — the item, the units' overdue explanations and the office's rulings — and
by the office; the receiving department takes a case up (受理) and records its outcome (处理结果)
through services.referral_acknowledge / referral_outcome_record. Lists and cases come from
selectors.referral_cases (the visibility rule); a case the user may not see is a 404; the page is
not for anyone else (403), nor is acting on another department's case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.choices import Role
from supervision import selectors, services
from supervision.choices import LIGHT_LABELS, ReferralDepartment
from supervision.errors import DomainError
from supervision.querysets import REFERRAL_VIEWER_ROLES
from supervision.web.forms.referrals import ReferralAcknowledgeForm, ReferralOutcomeForm
from supervision.web.refusals import show_on_forms

PER_PAGE = 20


def _require_reader(request: HttpRequest) -> None:
    if not (request.user.is_office or request.user.has_role(Role.DISCIPLINE, Role.ORGANIZATION)):
        raise PermissionDenied(_("只有督查室、纪检监察机关和组织部门可以查看移交线索。"))


@login_required
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    cases = selectors.referral_cases(user=request.user).order_by("-referred_at", "-id")
    department = request.GET.get("department", "")
    if department in ReferralDepartment.values:
        cases = cases.filter(department=department)
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "department": department,
        "departments": ReferralDepartment.choices if request.user.is_office else (),
        "query": f"department={department}&" if department else "",
    }
    return render(request, "web/referrals/list.html", context)


def _case(request: HttpRequest, pk: int):
    case = selectors.referral_cases(user=request.user).filter(pk=pk).first()
    if case is None:
        raise Http404(_("记录不存在。"))
    return case


def _may_act(user, case) -> bool:
    """The receiving department's own people take a referral up and record its outcome."""
    return any(user.has_role(role) for role, dept in REFERRAL_VIEWER_ROLES.items() if dept == case.department)


def _detail(request: HttpRequest, case, *, ack_form=None, outcome_form=None, refusals=(), status=200) -> HttpResponse:
    item = selectors.item_get(user=request.user, pk=case.item_id)
    item.light_label = LIGHT_LABELS.get(item.light, "")
    may_act = _may_act(request.user, case)
    context = {
        "case": case,
        "item": item,
        "explanations": case.item.case_explanations,
        "refusals": list(refusals),
        "ack_form": (ack_form or ReferralAcknowledgeForm()) if may_act and not case.acknowledged_at else None,
        "outcome_form": (outcome_form or ReferralOutcomeForm(department=case.department))
        if may_act and case.acknowledged_at and not case.outcome
        else None,
    }
    return render(request, "web/referrals/detail.html", context, status=status)


@login_required
@require_GET
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reader(request)
    return _detail(request, _case(request, pk))


@login_required
@require_POST
def referral_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """受理."""
    _require_reader(request)
    case = _case(request, pk)
    form = ReferralAcknowledgeForm(request.POST)
    if not form.is_valid():
        return _detail(request, case, ack_form=form, status=400)
    try:
        services.referral_acknowledge(actor=request.user, referral=case, comment=form.cleaned_data["comment"])
    except DomainError as exc:
        refusals = show_on_forms(exc, form)
        return _detail(request, _case(request, pk), ack_form=form, refusals=refusals, status=exc.status_code)
    messages.success(request, _("已受理。"))
    return redirect("web-referral", pk=pk)


@login_required
@require_POST
def referral_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """处理结果, with the decision document if one is attached (uploaded and filed together)."""
    _require_reader(request)
    case = _case(request, pk)
    form = ReferralOutcomeForm(request.POST, request.FILES, department=case.department)
    if not form.is_valid():
        return _detail(request, case, outcome_form=form, status=400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            document = data["document"] and services.attachment_upload(actor=request.user, uploaded_file=data["document"])
            services.referral_outcome_record(
                actor=request.user,
                referral=case,
                outcome=data["outcome"],
                text=data["text"],
                attachment_id=document.pk if document else None,
            )
    except DomainError as exc:
        refusals = show_on_forms(exc, form)
        return _detail(request, _case(request, pk), outcome_form=form, refusals=refusals, status=exc.status_code)
    messages.success(request, _("处理结果已登记。"))
    return redirect("web-referral", pk=pk)
