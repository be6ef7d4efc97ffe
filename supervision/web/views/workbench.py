"""工作台: a signed-in user's home. What they owe now, by role, each entry linking to the item
with what is owed and by when; leaders also their own instructions' items, overdue first, and
the dashboard. Each list reads its first rows and its count together, whatever the number of
entries (one query; two for a list that joins its records); counts are exact up to
selectors.COUNT_CAP and "more than" beyond (selectors/counting.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from supervision import selectors
from supervision.choices import LIGHT_LABELS, ExplanationStatus, Light, ReportingCycle, RequestStatus
from supervision.querysets import REFERRAL_VIEWER_ROLES
from supervision.services.guards import is_unit_approver
from supervision.stats import presenter

CYCLE_LABELS = dict(ReportingCycle.choices)


@dataclass
class Entry:
    item_id: int
    code: str
    title: str
    owed: str
    due: object = None  # a date or datetime: by when
    due_label: str = ""
    light: str = Light.NONE
    detail: str = ""
    url: str = ""  # where the entry leads, when not the item's page (a comment on a whole instruction)

    @property
    def light_label(self) -> str:
        return LIGHT_LABELS.get(self.light, "")

    @property
    def href(self) -> str:
        return self.url or presenter.item_path(self.item_id)


@dataclass
class Section:
    key: str
    title: str
    count: selectors.CappedCount
    entries: list[Entry] = field(default_factory=list)
    more_link: str = ""


def _section(key, title, qs, to_entry, more_link="") -> Section:
    rows, count = selectors.first_rows_and_capped_count(qs, selectors.WORKBENCH_ROWS)
    return Section(key, title, count, [to_entry(r) for r in rows], more_link)


def _item_entry(owed):
    def build(item):
        return Entry(item.pk, item.code, item.title, owed, item.deadline, _("办理时限"), item.light)

    return build


def _comment_entry(c) -> Entry:
    owed = _("阅批示：%(author)s") % {"author": c.author}
    if c.item_id is not None:
        return Entry(c.item_id, c.item.code, c.item.title, owed, c.created_at, _("批示时间"), detail=c.text[:40])
    instruction = c.instruction
    return Entry(
        None,
        instruction.document_number or _("批示件"),
        instruction.title,
        owed,
        c.created_at,
        _("批示时间"),
        detail=c.text[:40],
        url=reverse("web-instruction", args=[instruction.pk]) + "#comments",
    )


def _signature_sections(user) -> list[Section]:
    """What waits for the signature of the unit's head or named deputy (rule 14: 签字就是责任)."""
    mine = {"unit_id": user.unit_id}
    return [
        _section(
            "requests_to_endorse",
            _("待签字的申请"),
            selectors.request_list(user=user)
            .filter(status=RequestStatus.AWAITING_ENDORSEMENT, **mine)
            .order_by("requested_at", "pk"),
            lambda r: Entry(
                r.item_id,
                r.item.code,
                r.item.title,
                _("签字：%(kind)s") % {"kind": r.get_kind_display()},
                r.requested_at,
                _("申请时间"),
                detail=str(r.requested_by),
            ),
        ),
        _section(
            "explanations_to_endorse",
            _("待签字的超期说明"),
            selectors.explanation_list(user=user)
            .filter(status=ExplanationStatus.AWAITING_ENDORSEMENT, **mine)
            .order_by("due_by", "pk"),
            lambda e: Entry(
                e.item_id,
                e.item.code,
                e.item.title,
                _("签字：超期说明"),
                e.due_by,
                _("说明截止"),
                Light.OVERDUE,
                detail=str(e.submitted_by),
            ),
        ),
    ]


def _sections(user) -> list[Section]:
    sections = []
    if user.is_unit_user:
        sections += [
            _section("to_sign", _("待签收"), selectors.todo_items_to_sign(user=user), _item_entry(_("签收"))),
            _section(
                "reports_due",
                _("本期应反馈进展"),
                selectors.todo_reports_due(user=user),
                lambda i: Entry(
                    i.pk,
                    i.code,
                    i.title,
                    _("%(cycle)s进展反馈") % {"cycle": CYCLE_LABELS.get(i.reporting_cycle, "")},
                    i.period_end,
                    _("本期截止"),
                    i.light,
                ),
            ),
        ]
    if user.is_unit_user and is_unit_approver(user, user.unit_id):
        sections += _signature_sections(user)
    explanations = selectors.todo_explanations_owed(user=user)
    if user.is_office:
        sections += [
            _section(
                "requests",
                _("待审批申请"),
                selectors.todo_requests_to_decide(user=user),
                lambda r: Entry(
                    r.item_id,
                    r.item.code,
                    r.item.title,
                    _("审批%(kind)s") % {"kind": r.get_kind_display()},
                    r.requested_at,
                    _("申请时间"),
                    detail=str(r.requested_by),
                ),
            ),
            _section(
                "explanations",
                _("待认定超期说明"),
                explanations,
                lambda e: Entry(
                    e.item_id, e.item.code, e.item.title, _("认定（%(unit)s）") % {"unit": e.unit.name}, e.due_by, _("说明截止")
                ),
            ),
            _section(
                "return_visits",
                _("待回访复核"),
                selectors.todo_return_visits_due(user=user),
                lambda i: Entry(i.pk, i.code, i.title, _("回访复核"), i.closed_at, _("销号时间")),
                "/items/?status=closed",
            ),
            _section(
                "overdue",
                _("超期事项（督促说明、催办）"),
                selectors.todo_overdue_items(user=user),
                _item_entry(_("催办")),
                "/items/?overdue=true&ordering=deadline",
            ),
        ]
    elif user.is_unit_user:
        sections.append(
            _section(
                "explanations",
                _("应作超期说明"),
                explanations,
                lambda e: Entry(e.item_id, e.item.code, e.item.title, _("超期说明"), e.due_by, _("说明截止"), Light.OVERDUE),
            )
        )
    if any(user.has_role(role) for role in REFERRAL_VIEWER_ROLES):
        sections.append(
            _section(
                "referrals",
                _("移交线索"),
                selectors.todo_referrals_received(user=user),
                lambda r: Entry(
                    r.item_id,
                    r.item.code,
                    r.item.title,
                    _("查阅移交：%(reason)s") % {"reason": r.reason[:40]},
                    r.referred_at,
                    _("移交时间"),
                ),
            )
        )
    if user.is_unit_user or user.is_office:
        sections.append(
            _section(
                "comments",
                _("批示待阅"),
                # Marked 已阅 on the page of its item, or of its instruction (a comment on them all).
                selectors.comments_to_read(user=user),
                _comment_entry,
            )
        )
    if user.is_unit_user:
        sections.append(_section("unit_items", _("本单位在办事项"), selectors.todo_unit_items(user=user), _item_entry(_("办理"))))
    if user.has_role("leader"):
        sections.append(
            _section(
                "leader_items",
                _("我批示的事项（超期在前）"),
                selectors.todo_leader_items(user=user),
                _item_entry(_("跟踪落实")),
                f"/items/?issuing_leader={user.pk}",
            )
        )
    return sections


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    sections = _sections(request.user)
    owed = [s for s in sections if s.key not in ("unit_items", "leader_items", "overdue")]
    return render(
        request,
        "web/workbench.html",
        {"sections": sections, "owed_total": sum((s.count for s in owed), selectors.CappedCount(0)), "owed": owed},
    )
