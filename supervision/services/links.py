"""合并督办: the office links duplicate items of one matter to one lead item (DOMAIN.md rule 12).

The unit signs, reports and requests once, on the lead item. Each linked item records what happened
on the lead in its own history — an audit event naming the lead's record (the report, the request),
so evidence is shared, not copied — and follows the lead's state: signed when the lead is signed,
in progress when a report is filed, closed when the lead's completion is approved, its deadline moved
with an approved extension. A linked item has no reminders of its own (supervision/reminders.py).
Linking and unlinking are both audited on both items; an unlinked item resumes its own reminders."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.choices import DONE_STATUSES, ItemStatus, SuspicionStatus
from supervision.errors import InvalidInput, NotVisible, TransitionNotAllowed
from supervision.models import DuplicateSuspicion, Item, ItemLink
from supervision.reminders import reminder_reschedule
from supervision.services.guards import bump, lock_item, require_office

# Lead actions a linked item follows, and the state each one moves it to.
FOLLOWED = {
    "item_acknowledged": None,
    "report_filed": ItemStatus.IN_PROGRESS,
    "completion_requested": None,
    "extension_requested": None,
    "extension_approved": None,
    "completion_approved": ItemStatus.CLOSED,
    "completion_rejected": None,
    "extension_rejected": None,
}


def active_link(item: Item) -> ItemLink | None:
    return ItemLink.objects.filter(item=item, unlinked_at__isnull=True).select_related("lead").first()


def refuse_if_linked(item: Item, actor: User) -> None:
    """A unit acts on the lead item, not on an item linked to it (409 `item_linked`)."""
    if actor.is_office:
        return
    link = active_link(item)
    if link is not None:
        raise TransitionNotAllowed(
            _("本事项已并入“%(code)s %(title)s”合并督办，请在该事项上签收、反馈或申请。")
            % {"code": link.lead.code, "title": link.lead.title},
            code="item_linked",
        )


@transaction.atomic
def item_link(*, actor: User, item: Item, lead: Item, count_once: bool = True, comment: str = "") -> ItemLink:
    """Put `item` under `lead` (合并督办). Both at the same lead unit, neither done or cancelled; no chains."""
    require_office(actor)
    if item.pk == lead.pk:
        raise InvalidInput(fields={"lead_id": [_("主办事项不能是本事项。")]})
    # Lock both in id order, so two links made at once queue instead of deadlocking.
    first, second = sorted([item, lead], key=lambda i: i.pk)
    locked = {first.pk: lock_item(first, actor), second.pk: lock_item(second, actor)}
    item, lead = locked[item.pk], locked[lead.pk]
    if item.lead_unit_id != lead.lead_unit_id or item.lead_unit_id is None:
        raise InvalidInput(fields={"lead_id": [_("只能合并牵头单位相同的事项。")]})
    for one in (item, lead):
        if one.status in (*DONE_STATUSES, ItemStatus.CANCELLED):
            raise TransitionNotAllowed(
                _("事项“%(code)s”当前状态为“%(status)s”，不能合并督办。")
                % {"code": one.code, "status": one.get_status_display()},
                code="transition_not_allowed",
            )
    if ItemLink.objects.filter(item=item, unlinked_at__isnull=True).exists():
        raise TransitionNotAllowed(_("本事项已并入其他事项合并督办，请先取消。"), code="already_linked")
    if ItemLink.objects.filter(item=lead, unlinked_at__isnull=True).exists():
        raise TransitionNotAllowed(_("主办事项本身已并入其他事项，请选择最终的主办事项。"), code="link_chain")
    if ItemLink.objects.filter(lead=item, unlinked_at__isnull=True).exists():
        raise TransitionNotAllowed(_("本事项是其他事项的主办事项，不能再并入别的事项。"), code="link_chain")
    link = ItemLink(item=item, lead=lead, count_once=count_once, comment=comment or "", linked_by=actor, linked_at=timezone.now())
    link.full_clean()
    link.save()
    # A pending 疑似重复 of this pair is answered by the link.
    DuplicateSuspicion.objects.filter(
        Q(item=item, candidate=lead) | Q(item=lead, candidate=item), status=SuspicionStatus.PENDING
    ).update(status=SuspicionStatus.CONFIRMED, decided_by=actor, decided_at=link.linked_at, comment=comment or "")
    item.next_reminder_at = None  # the lead's reminders speak for both
    bump(item)
    item.save()
    data = {"item_id": item.pk, "lead_id": lead.pk, "count_once": count_once}
    audit_record(actor=actor, action="item_linked", obj=link, item=item, comment=comment, data={**data, "lead_code": lead.code})
    audit_record(
        actor=actor, action="item_linked_as_lead", obj=link, item=lead, comment=comment, data={**data, "item_code": item.code}
    )
    return link


@transaction.atomic
def item_unlink(*, actor: User, link: ItemLink, comment: str = "") -> ItemLink:
    """End a link: the item is followed on its own again, with its own reminders."""
    require_office(actor)
    link = ItemLink.objects.select_for_update().filter(pk=link.pk).first()
    if link is None:
        raise NotVisible()
    item = lock_item(link.item, actor)
    lead = lock_item(link.lead, actor)
    if link.unlinked_at is not None:
        raise TransitionNotAllowed(_("该合并督办已取消。"), code="link_ended")
    link.unlinked_by = actor
    link.unlinked_at = timezone.now()
    link.save(update_fields=["unlinked_by", "unlinked_at"])
    reminder_reschedule(item)
    bump(item)
    item.save()
    data = {"item_id": item.pk, "lead_id": lead.pk}
    audit_record(actor=actor, action="item_unlinked", obj=link, item=item, comment=comment, data=data)
    audit_record(actor=actor, action="item_unlinked_from_lead", obj=link, item=lead, comment=comment, data=data)
    return link


def linked_follow(*, actor: User, lead: Item, action: str, record, data: dict | None = None) -> int:
    """Record on every item linked to `lead` what was just done on it (in the caller's
    transaction) and move the linked items along. `record` is the lead's record (its assignment,
    report or request), referenced, not copied. Returns the number of linked items."""
    links = list(ItemLink.objects.filter(lead=lead, unlinked_at__isnull=True).order_by("item_id"))
    if not links or action not in FOLLOWED:
        return 0
    now = timezone.now()
    for link in links:
        item = Item.objects.select_for_update().get(pk=link.item_id)
        from_status = item.status
        if action == "item_acknowledged":
            unit_id = (data or {}).get("unit_id")
            item.assignments.filter(unit_id=unit_id, acknowledged_at__isnull=True).update(
                acknowledged_at=now, acknowledged_by=actor
            )
            if item.status == ItemStatus.ASSIGNED and not item.assignments.filter(acknowledged_at__isnull=True).exists():
                item.status = ItemStatus.ACKNOWLEDGED
        elif action == "report_filed" and item.status in (ItemStatus.ASSIGNED, ItemStatus.ACKNOWLEDGED, ItemStatus.IN_PROGRESS):
            item.status = ItemStatus.IN_PROGRESS
            item.progress = lead.progress
        elif action == "extension_approved" and item.status not in (*DONE_STATUSES, ItemStatus.CANCELLED):
            item.deadline, item.deadline_time = lead.deadline, None
        elif action == "completion_approved" and item.status not in (*DONE_STATUSES, ItemStatus.CANCELLED):
            item.status, item.closed_at, item.progress = ItemStatus.CLOSED, now, 100
        bump(item)
        item.save()
        audit_record(
            actor=actor,
            action=f"linked_{action}",
            obj=record,
            item=item,
            from_status=from_status,
            to_status=item.status,
            comment=_("经合并督办的主办事项 %(code)s 办理") % {"code": lead.code},
            data={"lead_item_id": lead.pk, "lead_code": lead.code, "record_id": record.pk, **(data or {})},
        )
    return len(links)
