"""The item page's actions: GET opens the form (an htmx fragment, or the whole page without
JavaScript), POST parses it and calls one service. Item actions (交办, 签收, 反馈, 申请 …), a
request's 审批 by the office and 签字 / 退回 by the unit's approver (rule 14), an overdue
explanation's 说明, 签字 / 退回 and 认定, a referral's 受理 and 处理结果 by the receiving
department, and the leaders' 批示、点评 (its form sits in the comments' section).

The service's refusal comes back in Chinese: 400 next to the field, 403 may not act, 404 may not
see, 409/412 someone acted first — then the form says so and shows the item's current state;
never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods

from supervision import selectors, services
from supervision.choices import ExplanationStatus, RequestStatus
from supervision.errors import DomainError, InvalidInput, NotPermitted, NotVisible
from supervision.web import actions as policy
from supervision.web.forms import item_actions as f
from supervision.web.views.items import item_page_context, load_item

FORM_TEMPLATE = "web/items/_action_form.html"


@dataclass(frozen=True)
class Action:
    form: type[f.ActionForm]
    title: str
    run: Callable  # (user, ctx, target, data, attachment_ids) -> what the service returned
    done: str | Callable  # the flash message after success, or (result) -> that message
    form_kwargs: Callable | None = None  # (target) -> extra keyword arguments of the form
    initial: Callable | None = None  # (target) -> the form's initial values
    panel: str = "action-panel"  # where the form lives on the item page (its htmx target)
    form_id: str = ""  # the form's element id when not the action panel's "action-form"

    def message(self, result) -> str:
        return str(self.done(result) if callable(self.done) else self.done)


def _version(data):
    return data.get("version")


def _submitted(kind_done: str, to_office: str):
    """A unit's request goes to its approver first (rule 14), unless the requester signs it."""

    def message(request) -> str:
        if request.status == RequestStatus.AWAITING_ENDORSEMENT:
            return _("%(kind)s已提交，等待单位负责人签字。") % {"kind": kind_done}
        return to_office % {"kind": kind_done}

    return message


ITEM_ACTIONS: dict[str, Action] = {
    "assign": Action(
        f.CommentForm,
        _l("交办"),
        lambda u, c, t, d, a: services.item_assign(actor=u, item=c.item, expected_version=_version(d), comment=d["comment"]),
        _l("已交办。"),
    ),
    "acknowledge": Action(
        f.CommentForm,
        _l("签收"),
        lambda u, c, t, d, a: services.item_acknowledge(actor=u, item=c.item, expected_version=_version(d), comment=d["comment"]),
        _l("已签收。"),
    ),
    "report": Action(
        f.ReportForm,
        _l("反馈进展"),
        lambda u, c, t, d, a: services.progress_report_create(
            actor=u,
            item=c.item,
            kind=d["kind"],
            progress=d["progress"],
            progress_text=d["progress_text"],
            results=d["results"],
            problems=d["problems"],
            next_steps=d["next_steps"],
            attachment_ids=a,
        ),
        _l("进展已反馈。"),
    ),
    "extension": Action(
        f.ExtensionForm,
        _l("申请延期"),
        lambda u, c, t, d, a: services.item_request_create(
            actor=u,
            item=c.item,
            kind="extension",
            reason=d["reason"],
            requested_deadline=d["requested_deadline"],
            expected_version=_version(d),
        ),
        _submitted(_l("延期申请"), _l("%(kind)s已提交，等待督查室审批。")),
    ),
    "completion": Action(
        f.CompletionForm,
        _l("申请办结"),
        lambda u, c, t, d, a: services.item_request_create(
            actor=u,
            item=c.item,
            kind="completion",
            reason=d["reason"],
            outcome=d["outcome"],
            attachment_ids=a,
            expected_version=_version(d),
        ),
        _submitted(_l("办结申请"), _l("%(kind)s已提交，等待督查室审核。")),
    ),
    "suspension": Action(
        f.ReasonForm,
        _l("申请暂停"),
        lambda u, c, t, d, a: services.item_request_create(
            actor=u, item=c.item, kind="suspension", reason=d["reason"], expected_version=_version(d)
        ),
        _submitted(_l("暂停申请"), _l("%(kind)s已提交，等待督查室审批。")),
    ),
    "cancellation": Action(
        f.ReasonForm,
        _l("申请撤销"),
        lambda u, c, t, d, a: services.item_request_create(
            actor=u, item=c.item, kind="cancellation", reason=d["reason"], expected_version=_version(d)
        ),
        _submitted(_l("撤销申请"), _l("%(kind)s已提交，等待督查室审批。")),
    ),
    "resume": Action(
        f.RequiredCommentForm,
        _l("恢复办理"),
        lambda u, c, t, d, a: services.item_resume(actor=u, item=c.item, comment=d["comment"], expected_version=_version(d)),
        _l("已恢复办理。"),
    ),
    "return_visit": Action(
        f.ReturnVisitForm,
        _l("回访复核"),
        lambda u, c, t, d, a: services.return_visit_create(
            actor=u,
            item=c.item,
            result=d["result"],
            findings=d["findings"],
            visited_on=d["visited_on"],
            new_deadline=d["new_deadline"],
            expected_version=_version(d),
        ),
        _l("回访复核已记录。"),
    ),
    "referral": Action(
        f.ReferralForm,
        _l("移交纪检、组织部门"),
        lambda u, c, t, d, a: services.referral_create(actor=u, item=c.item, department=d["department"], reason=d["reason"]),
        _l("已移交。"),
    ),
}


def _sign(endorse: Callable, send_back: Callable, target: str) -> Callable:
    """签字同意 or 退回 (the reason is the comment), by the unit's approver."""

    def run(u, c, t, d, a):
        if d["decision"] == "endorse":
            return endorse(actor=u, comment=d["comment"], **{target: t})
        return send_back(actor=u, reason=d["comment"], **{target: t})

    return run


def _signed(to_office: str, sent_back: str) -> Callable:
    return lambda record: to_office if record.endorsed_at else sent_back


REQUEST_ACTIONS: dict[str, Action] = {
    "decide": Action(
        f.DecisionForm,
        _l("审批申请"),
        lambda u, c, t, d, a: services.item_request_decide(
            actor=u, request=t, approve=d["decision"] == "approve", comment=d["comment"], expected_version=_version(d)
        ),
        _l("审批意见已记录。"),
    ),
    "endorse": Action(
        f.SignoffForm,
        _l("单位负责人签字"),
        _sign(services.item_request_endorse, services.item_request_return, "request"),
        _signed(_l("已签字，申请已报督查室。"), _l("已退回申请人。")),
    ),
}

EXPLANATION_ACTIONS: dict[str, Action] = {
    "explain": Action(
        f.ExplanationForm,
        _l("提交超期说明"),
        lambda u, c, t, d, a: services.overdue_explanation_submit(
            actor=u, explanation=t, reason_kind=d["reason_kind"], text=d["text"], attachment_ids=a
        ),
        lambda e: (
            _("超期说明已提交，等待单位负责人签字。")
            if e.status == ExplanationStatus.AWAITING_ENDORSEMENT
            else _("超期说明已提交，等待督查室认定。")
        ),
        # Sent back by the unit's approver, the explanation keeps its text for the rewrite.
        initial=lambda e: {"reason_kind": e.reason_kind, "text": e.text},
    ),
    "endorse": Action(
        f.SignoffForm,
        _l("单位负责人签字"),
        _sign(services.overdue_explanation_endorse, services.overdue_explanation_return, "explanation"),
        _signed(_l("已签字，超期说明已报督查室。"), _l("已退回说明人修改。")),
    ),
    "rule": Action(
        f.RulingForm,
        _l("认定超期说明"),
        lambda u, c, t, d, a: services.overdue_explanation_rule(
            actor=u, explanation=t, ruling=d["ruling"], comment=d["comment"], departments=d["departments"] or None
        ),
        _l("认定结果已记录。"),
    ),
}


REFERRAL_ACTIONS: dict[str, Action] = {
    "acknowledge": Action(
        f.ReferralAcknowledgeForm,
        _l("受理移交"),
        lambda u, c, t, d, a: services.referral_acknowledge(actor=u, referral=t, comment=d["comment"]),
        _l("已受理。"),
    ),
    "outcome": Action(
        f.ReferralOutcomeForm,
        _l("登记处理结果"),
        lambda u, c, t, d, a: services.referral_outcome_record(
            actor=u, referral=t, outcome=d["outcome"], text=d["text"], attachment_id=a[0] if a else None
        ),
        _l("处理结果已登记。"),
        form_kwargs=lambda r: {"department": r.department},
    ),
}

LINK_ACTIONS: dict[str, Action] = {
    "unlink": Action(
        f.CommentForm,
        _l("取消合并督办"),
        lambda u, c, t, d, a: services.item_unlink(actor=u, link=t, comment=d["comment"]),
        _l("已取消合并督办，该事项恢复单独督办和提醒。"),
    ),
}

COMMENT = Action(
    f.LeaderCommentForm,
    _l("批示、点评"),
    lambda u, c, t, d, a: services.comment_create(actor=u, item=c.item, text=d["text"]),
    _l("批示已发出，相关单位将收到通知。"),
    panel="comment-panel",
    form_id="comment-form",
)


def _upload_all(user, files) -> list:
    return [services.attachment_upload(actor=user, uploaded_file=file) for file in files]


def _perform(request, action: Action, ctx, target, form):
    """Store the evidence, then one service. Both in one transaction; a refusal deletes the
    stored files too (storage is not transactional)."""
    uploaded = []
    try:
        with transaction.atomic():
            if form.has_files:
                uploaded = _upload_all(request.user, form.all_files())
            return action.run(request.user, ctx, target, form.cleaned_data, [a.pk for a in uploaded])
    except BaseException:
        for attachment in uploaded:
            attachment.file.delete(save=False)
        raise


def _apply_refusal(form, exc: InvalidInput) -> None:
    placed = False
    for field, messages_ in (exc.fields or {}).items():
        name = form.field_for(field)
        for message in messages_:
            form.add_error(name, message)
        placed = True
    if not placed or (exc.fields and str(exc.message) != str(InvalidInput.default_message)):
        form.add_error(None, str(exc.message))


def _respond(request, ctx, action: Action, form, post_url: str, *, status=200, problem: str | None = None):
    context = {
        "form": form,
        "action": action,
        "post_url": post_url,
        "item": ctx.item,
        "problem": problem,
        "panel_id": action.panel,
        "form_id": action.form_id,
    }
    stale = status in (409, 412)
    if request.headers.get("HX-Request") and not stale:
        return render(request, FORM_TEMPLATE, context, status=status)
    page = item_page_context(request, ctx)
    if action.panel == COMMENT.panel and page["may_comment"]:
        # The comment form lives in the comments' section, not in the actions' panel.
        page.update(comment_form=form, comment_problem=problem)
    else:
        page.update(context, panel=FORM_TEMPLATE)
    response = render(request, "web/items/detail.html", page, status=status)
    if request.headers.get("HX-Request"):
        # Someone acted first: the whole item as it is now replaces the stale one, message on top.
        response["HX-Retarget"], response["HX-Reswap"], response["HX-Reselect"] = "main.page", "outerHTML", "main.page"
    return response


def _handle(request, pk, action: Action, allowed: Callable, target_of: Callable, post_url: str):
    ctx = load_item(request.user, pk)  # 404 before anything else: no hint that the item exists
    target = target_of(ctx)
    initial = {"version": ctx.item.version, **(action.initial(target) if action.initial else {})}
    kwargs = action.form_kwargs(target) if action.form_kwargs else {}
    if request.method == "GET":
        if not allowed(ctx, target):
            return _respond(request, ctx, action, None, post_url, status=403, problem=_("您当前不能对本事项执行此操作。"))
        return _respond(request, ctx, action, action.form(initial=initial, **kwargs), post_url)
    form = action.form(request.POST, request.FILES, initial=initial, **kwargs)
    if not form.is_valid():
        return _respond(request, ctx, action, form, post_url, status=400)
    try:
        result = _perform(request, action, ctx, target, form)
    except InvalidInput as exc:
        _apply_refusal(form, exc)
        return _respond(request, ctx, action, form, post_url, status=400)
    except NotVisible as exc:
        raise Http404 from exc
    except DomainError as exc:
        # 403, 409 (the state moved on), 412 (someone acted first): say so with the current state.
        fresh = load_item(request.user, pk)
        status = exc.status_code
        problem = str(exc.message)
        if not isinstance(exc, NotPermitted):
            problem += _("（事项当前状态：%(status)s）") % {"status": fresh.item.get_status_display()}
        return _respond(request, fresh, action, None, post_url, status=status, problem=problem)
    messages.success(request, action.message(result))
    url = reverse("web-item", args=[pk])
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def item_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    spec = ITEM_ACTIONS.get(action)
    if spec is None:
        raise Http404
    return _handle(
        request,
        pk,
        spec,
        allowed=lambda ctx, target: action in policy.item_actions(request.user, ctx),
        target_of=lambda ctx: None,
        post_url=reverse("web-item-act", args=[pk, action]),
    )


def _one_of(records: str, pk: int) -> Callable:
    """The record of the item page with this id (404 if the user does not see it there)."""

    def target_of(ctx):
        found = next((r for r in getattr(ctx, records) if r.pk == pk), None)
        if found is None:
            raise Http404
        return found

    return target_of


def _record_act(request, pk: int, record_pk: int, action: str, *, specs: dict, records: str, url_name: str, allowed):
    """An action on one record of the item page (a request, explanation, link or referral): 404 for
    an unknown action or a record the page does not show the user."""
    spec = specs.get(action)
    if spec is None:
        raise Http404
    return _handle(
        request,
        pk,
        spec,
        allowed=allowed,
        target_of=_one_of(records, record_pk),
        post_url=reverse(url_name, args=[pk, record_pk, action]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_act(request: HttpRequest, pk: int, request_pk: int, action: str) -> HttpResponse:
    """审批 by the office; 签字 or 退回 by the unit's approver."""
    if action == "decide":
        allowed = lambda ctx, target: policy.may_decide(request.user, target)  # noqa: E731
    else:
        allowed = policy.may_endorse
    return _record_act(
        request, pk, request_pk, action, specs=REQUEST_ACTIONS, records="requests", url_name="web-request-act", allowed=allowed
    )


@login_required
@require_http_methods(["GET", "POST"])
def explanation_act(request: HttpRequest, pk: int, explanation_pk: int, action: str) -> HttpResponse:
    if action == "endorse":
        allowed = policy.may_endorse
    else:
        check = policy.may_explain if action == "explain" else policy.may_rule
        allowed = lambda ctx, target: check(request.user, target)  # noqa: E731
    return _record_act(
        request,
        pk,
        explanation_pk,
        action,
        specs=EXPLANATION_ACTIONS,
        records="explanations",
        url_name="web-explanation-act",
        allowed=allowed,
    )


@login_required
@require_http_methods(["GET", "POST"])
def link_act(request: HttpRequest, pk: int, link_pk: int, action: str) -> HttpResponse:
    """取消合并督办 by the office, from either item's page."""
    return _record_act(
        request,
        pk,
        link_pk,
        action,
        specs=LINK_ACTIONS,
        records="links",
        url_name="web-link-act",
        allowed=lambda ctx, target: policy.may_unlink(request.user),
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_act(request: HttpRequest, pk: int, referral_pk: int, action: str) -> HttpResponse:
    """受理 and 处理结果 by the department the item was referred to (纪检 / 组织部门)."""
    check = policy.may_acknowledge_referral if action == "acknowledge" else policy.may_record_referral_outcome
    return _record_act(
        request,
        pk,
        referral_pk,
        action,
        specs=REFERRAL_ACTIONS,
        records="referrals",
        url_name="web-referral-act",
        allowed=lambda ctx, target: check(request.user, target),
    )


@login_required
@require_http_methods(["GET", "POST"])
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    """批示、点评 on the item (leaders and the office)."""
    return _handle(
        request,
        pk,
        COMMENT,
        allowed=lambda ctx, target: policy.may_comment(request.user),
        target_of=lambda ctx: None,
        post_url=reverse("web-item-comment", args=[pk]),
    )


@login_required
@require_http_methods(["POST"])
def comment_read(request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
    """The reader has read a comment (已阅): it leaves their list of comments to read."""
    ctx = load_item(request.user, pk)
    comment = selectors.comment_list(user=request.user, item=ctx.item).filter(pk=comment_pk).first()
    if comment is None:
        raise Http404
    services.comment_mark_read(actor=request.user, comment=comment)
    comment.is_read = True
    if request.headers.get("HX-Request"):
        return render(request, "web/items/_comment.html", {"c": comment, "item": ctx.item, "user": request.user})
    return redirect(reverse("web-item", args=[pk]) + "#comments")
