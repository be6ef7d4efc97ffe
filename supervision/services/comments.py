"""Leader comments (领导批示 / 点评): leaders and the office comment on an item or an instruction;
the units concerned are told once and see the comment until they mark it read."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.choices import ItemStatus
from supervision.errors import InvalidInput, NotPermitted, NotVisible
from supervision.models import CommentRead, Instruction, Item, ItemAssignment, LeaderComment
from supervision.querysets import comments_visible_to
from supervision.services.guards import require_text


def _units_concerned(items) -> list[int]:
    return sorted(set(ItemAssignment.objects.filter(item__in=items).values_list("unit_id", flat=True)))


def comment_recipients(comment: LeaderComment) -> list[User]:
    """The handlers and heads of every unit on the item (or on the instruction's assigned items),
    each only if cleared for what the comment is on."""
    if comment.item_id:
        items = Item.objects.filter(pk=comment.item_id)
        level = comment.item.classification
    else:
        items = comment.instruction.items.exclude(status__in=[ItemStatus.DRAFT, ItemStatus.CANCELLED])
        level = comment.instruction.classification
    units = _units_concerned(items)
    if not units:
        return []
    people = Q(unit_id__in=units, role_assignments__role__in=[Role.UNIT_HANDLER, Role.UNIT_HEAD]) | Q(headed_units__in=units)
    return list(
        User.objects.filter(people, is_active=True, clearance__gte=level).exclude(pk=comment.author_id).distinct().order_by("pk")
    )


@transaction.atomic
def comment_create(*, actor: User, text: str, item: Item | None = None, instruction: Instruction | None = None) -> LeaderComment:
    """批示 / 点评 on an item or an instruction, by a leader or the office; audited (in the item's
    history) and sent once to the units concerned."""
    if not (actor.is_active and (actor.has_role(Role.LEADER) or actor.is_office)):
        raise NotPermitted(_("只有领导和督查室可以批示、点评。"), code="leader_or_office_only")
    if (item is None) == (instruction is None):
        raise InvalidInput(fields={"item": [_("批示须针对一个事项或一件批示件。")]})
    if item is not None:
        item = Item.objects.select_for_update().filter(pk=item.pk).first()
        if item is None or not Item.objects.visible_to(actor).filter(pk=item.pk).exists():
            raise NotVisible()
    elif not Instruction.objects.visible_to(actor).filter(pk=instruction.pk).exists():
        raise NotVisible()
    text = require_text(text, "text", _("请填写批示内容。"))
    if len(text) > 5000:
        raise InvalidInput(fields={"text": [_("批示内容不能超过 5000 字。")]})
    comment = LeaderComment(item=item, instruction=instruction, text=text, author=actor)
    comment.full_clean()
    comment.save()
    audit_record(
        actor=actor,
        action="leader_comment_added",
        obj=comment,
        item=item,
        comment=text,
        data={"instruction_id": instruction.pk} if instruction is not None else None,
    )
    target = item.title if item is not None else instruction.title
    author = actor.full_name or actor.username
    outbox.notify(
        recipients=comment_recipients(comment),
        title=_("%(author)s 对“%(target)s”作出批示") % {"author": author, "target": target},
        body=text,
        kind="comment",
        dedup_key=f"comment:{comment.pk}",
        item=item,
    )
    return comment


@transaction.atomic
def comment_mark_read(*, actor: User, comment: LeaderComment) -> CommentRead:
    """The reader has read the comment: it leaves their list. Reading twice keeps the first time.
    Not audited: a read marker is the reader's own bookkeeping, not a change to the ledger."""
    if not comments_visible_to(actor).filter(pk=comment.pk).exists():
        raise NotVisible()
    read, _created = CommentRead.objects.get_or_create(comment=comment, user=actor)
    return read
