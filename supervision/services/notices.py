"""Notices (情况通报): praise and criticism, drafted, edited and issued with a number
(督通〔2026〕1号; DUBAN_NOTICE_NUMBER_PREFIX, default 督通): DOMAIN.md rule 9."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.choices import (
    BEFORE_ASSIGNMENT_STATUSES,
    CounterSeries,
    NoticeKind,
    NoticeStatus,
)
from supervision.errors import InvalidInput, NotVisible, TransitionNotAllowed
from supervision.models import (
    Item,
    ItemAssignment,
    Notice,
    NoticeEntry,
)
from supervision.querysets import notices_visible_to
from supervision.services import handoffs
from supervision.services.counters import counter_take
from supervision.services.guards import require_office

EntrySpec = tuple[Item, Unit, str]


def _validated_entries(actor: User, entries: Sequence[EntrySpec] | None) -> list[EntrySpec]:
    """Every entry names an item the actor can see (so never one above their clearance), past
    draft, and one of its responsible units; no (item, unit) twice."""
    entries = list(entries or [])
    if not entries:
        raise InvalidInput(fields={"entries": [_("请至少选择一个通报事项。")]})
    visible = set(Item.objects.visible_to(actor).filter(pk__in=[e[0].pk for e in entries]).values_list("pk", flat=True))
    assigned = set(ItemAssignment.objects.filter(item_id__in=visible).values_list("item_id", "unit_id"))
    statuses = dict(Item.objects.filter(pk__in=visible).values_list("pk", "status"))
    errors: list[str] = []
    seen: set[tuple[int, int]] = set()
    out: list[EntrySpec] = []
    for index, entry in enumerate(entries, start=1):
        item, unit, remark = entry
        if item.pk not in visible:
            # Not "above your clearance": an item the actor cannot see does not exist for them.
            errors.append(_("第 %(n)s 项：事项不存在。") % {"n": index})
            continue
        if statuses[item.pk] in BEFORE_ASSIGNMENT_STATUSES:
            errors.append(_("第 %(n)s 项：事项尚未交办，不能通报。") % {"n": index})
            continue
        if (item.pk, unit.pk) not in assigned:
            errors.append(_("第 %(n)s 项：%(unit)s 不是该事项的责任单位。") % {"n": index, "unit": unit.name})
            continue
        if (item.pk, unit.pk) in seen:
            errors.append(_("第 %(n)s 项：同一事项和单位重复列入。") % {"n": index})
            continue
        seen.add((item.pk, unit.pk))
        out.append((item, unit, (remark or "").strip()[:500]))
    if errors:
        raise InvalidInput(fields={"entries": errors})
    return out


def _validate_notice_fields(kind: str, title: str | None, body: str | None, recommend: bool) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if kind not in NoticeKind.values:
        errors["kind"] = [_("通报类型无效。")]
    if not (title or "").strip():
        errors["title"] = [_("请填写通报标题。")]
    if not (body or "").strip():
        errors["body"] = [_("请填写通报正文。")]
    if recommend and kind != NoticeKind.PRAISE:
        errors["recommend_to_organization"] = [_("只有表扬通报可以向组织部门推荐。")]
    if errors:
        raise InvalidInput(fields=errors)
    return title.strip(), body.strip()


def _replace_entries(notice: Notice, entries: list[EntrySpec]) -> None:
    notice.entries.all().delete()
    NoticeEntry.objects.bulk_create(
        [
            NoticeEntry(notice=notice, item=item, unit=unit, remark=remark, position=i)
            for i, (item, unit, remark) in enumerate(entries, 1)
        ]
    )


def _notice_classification(notice: Notice) -> int:
    return notice.entries.aggregate(top=Max("item__classification"))["top"] or 0


def _entries_data(entries: list[EntrySpec]) -> list[dict]:
    return [{"item_id": item.pk, "unit_id": unit.pk, "remark": remark} for item, unit, remark in entries]


def _lock_notice(notice: Notice, actor: User) -> Notice:
    """Lock the notice; one the actor may not read does not exist for them."""
    locked = Notice.objects.select_for_update().filter(pk=notice.pk).first()
    if locked is None or not notices_visible_to(actor, Notice.objects.filter(pk=notice.pk)).exists():
        raise NotVisible()
    return locked


@transaction.atomic
def notice_create(
    *,
    actor: User,
    kind: str,
    title: str,
    body: str,
    entries: Sequence[EntrySpec],
    recommend_to_organization: bool = False,
) -> Notice:
    """起草通报: the office drafts a praise, criticism or reminder notice from selected items and units."""
    require_office(actor)
    title, body = _validate_notice_fields(kind, title, body, recommend_to_organization)
    entries = _validated_entries(actor, entries)
    notice = Notice(kind=kind, title=title, body=body, recommend_to_organization=recommend_to_organization, created_by=actor)
    notice.full_clean(exclude=["number", "year", "sequence"])
    notice.save()
    _replace_entries(notice, entries)
    notice.classification = _notice_classification(notice)
    notice.save(update_fields=["classification"])
    audit_record(
        actor=actor,
        action="notice_created",
        obj=notice,
        to_status=notice.status,
        data={
            "kind": kind,
            "title": title,
            "entries": _entries_data(entries),
            "recommend_to_organization": recommend_to_organization,
        },
    )
    return notice


NOTICE_FIELDS = ("kind", "title", "body", "recommend_to_organization")


@transaction.atomic
def notice_update(*, actor: User, notice: Notice, entries: Sequence[EntrySpec] | None = None, **fields) -> Notice:
    """Edit a draft notice; an issued one is a signed document and never changes."""
    require_office(actor)
    notice = _lock_notice(notice, actor)
    unknown = set(fields) - set(NOTICE_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    if notice.status != NoticeStatus.DRAFT:
        raise TransitionNotAllowed(_("通报已印发，不能修改。"), code="notice_issued")
    merged = {name: fields.get(name, getattr(notice, name)) for name in NOTICE_FIELDS}
    merged["title"], merged["body"] = _validate_notice_fields(
        merged["kind"], merged["title"], merged["body"], merged["recommend_to_organization"]
    )
    changed: dict = {}
    for name, value in merged.items():
        if getattr(notice, name) != value:
            changed[name] = value
            setattr(notice, name, value)
    if entries is not None:
        entries = _validated_entries(actor, entries)
        before = list(notice.entries.order_by("position", "id").values_list("item_id", "unit_id", "remark"))
        after = [(item.pk, unit.pk, remark) for item, unit, remark in entries]
        if before != after:
            _replace_entries(notice, entries)
            changed["entries"] = _entries_data(entries)
    if not changed:
        return notice
    notice.classification = _notice_classification(notice)
    notice.version += 1
    notice.full_clean(exclude=["number", "year", "sequence"])
    notice.save()
    audit_record(actor=actor, action="notice_updated", obj=notice, data=changed)
    return notice


def _next_notice_number(year: int) -> tuple[int, str]:
    number = counter_take(series=CounterSeries.NOTICE, year=year)
    prefix = getattr(settings, "DUBAN_NOTICE_NUMBER_PREFIX", "督通")
    return number, f"{prefix}〔{year}〕{number}号"


@transaction.atomic
def notice_issue(*, actor: User, notice: Notice) -> Notice:
    """印发: number the notice (督通〔2026〕3号, per year, under a row lock) and release it to the
    units named in it, to 纪检 (criticism) and to 组织部门 (recommended praise)."""
    require_office(actor)
    notice = _lock_notice(notice, actor)
    if notice.status != NoticeStatus.DRAFT:
        raise TransitionNotAllowed(
            _("通报已于 %(date)s 印发（%(number)s），不能重复印发。")
            % {"date": timezone.localdate(notice.issued_at), "number": notice.number},
            code="notice_issued",
        )
    # Items may have been reclassified or cancelled since drafting: check them again.
    current = [(e.item, e.unit, e.remark) for e in notice.entries.select_related("item", "unit")]
    _validated_entries(actor, current)
    now = timezone.now()
    year = timezone.localdate(now).year
    notice.sequence, notice.number = _next_notice_number(year)
    notice.year = year
    notice.status = NoticeStatus.ISSUED
    notice.issued_by = actor
    notice.issued_at = now
    notice.classification = _notice_classification(notice)
    notice.version += 1
    notice.save()
    audit_record(
        actor=actor,
        action="notice_issued",
        obj=notice,
        from_status=NoticeStatus.DRAFT,
        to_status=NoticeStatus.ISSUED,
        data={"number": notice.number, "kind": notice.kind, "item_ids": [e[0].pk for e in current]},
    )
    handoffs.notice_issued(notice=notice, actor=actor)
    return notice
