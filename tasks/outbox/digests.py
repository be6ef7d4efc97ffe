"""The daily digest (每日汇总, issue 15): a person who takes a channel as a digest gets at most one
message on it per working day, at the office's time (DigestSetting), listing the messages held for
it and everything the person still owes, with lights and links.

- **Exactly once**: one Digest per (person, channel, working day) is a unique constraint. The run
  that creates the row takes up the waiting deliveries in the same transaction; a second run (two
  beats, a repeated task) finds the row and does nothing. Messages that arrive after the day's digest
  was made wait for the next working day's.
- **Sent like any delivery**: Digest is an outbox row (tasks/outbox/base.py): attempt under a row
  lock, backoff, dead letter, the stuck-row sweep, an operator's resend.
- **Rule 13**: over a push channel, items above DUBAN_EXTERNAL_MAX_CLASSIFICATION are not described
  (the line says only that a classified item is waiting); the list of owed items is the person's own
  visible items (`Item.objects.visible_to`)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from supervision.choices import Light
from supervision.models import Item
from supervision.workcalendar import is_workday
from tasks.choices import Channel, DeliveryStatus
from tasks.models import Delivery, Digest, DigestSetting
from tasks.outbox.base import Outbox
from tasks.outbox.channels import OutgoingMessage, backend_for

MAX_LINES = 50  # a digest is read on a phone: beyond this it says how many more there are


def item_link(item_id: int) -> str:
    return f"{settings.DUBAN_SITE_URL.rstrip('/')}/items/{item_id}/"


def _secret(item: Item | None) -> bool:
    return item is not None and item.classification > settings.DUBAN_EXTERNAL_MAX_CLASSIFICATION


def owed_items(user: User) -> QuerySet[Item]:
    """What the person still owes: open items they own, or of their unit when they act for it —
    through the one visibility rule, with the light of each."""
    scope = Q(owner=user)
    if user.is_unit_user and user.unit_id:
        scope |= Q(assignments__unit_id=user.unit_id)
    return (
        Item.objects.visible_to(user)
        .open()
        .filter(scope)
        .distinct()
        .with_light()
        .order_by("deadline", "pk")
        .only("pk", "code", "title", "deadline", "classification", "status")
    )


def compose(user: User, channel: str, workday: datetime.date, deliveries: list[Delivery]) -> tuple[str, str, dict]:
    """The digest's title, text and structured form (the webhook channel's payload)."""
    # A message about an item the person may no longer see (reclassified upward, unit removed)
    # is left out: the digest is read later than the message was written.
    item_ids = {d.notification.item_id for d in deliveries if d.notification.item_id}
    visible = set(Item.objects.visible_to(user).filter(pk__in=item_ids).values_list("pk", flat=True))
    messages = []
    for delivery in deliveries:
        notification = delivery.notification
        item = notification.item
        if item is not None and item.pk not in visible:
            continue
        secret = channel != Channel.INBOX and _secret(item)
        messages.append(
            {
                "notification_id": notification.pk,
                "kind": notification.kind,
                "title": _("涉密事项消息，请登录督办系统查看") if secret else notification.title,
                "item_id": item.pk if item is not None else None,
                "link": item_link(item.pk) if item is not None else "",
                "created_at": notification.created_at.isoformat(),
            }
        )
    owed = []
    for item in owed_items(user)[: MAX_LINES + 1]:
        owed.append(
            {
                "item_id": item.pk,
                "code": item.code,
                "title": _("涉密事项，请登录督办系统查看") if _secret(item) else item.title,
                "deadline": item.deadline.isoformat() if item.deadline else None,
                "light": item.light,
                "light_label": str(Light(item.light).label),
                "link": item_link(item.pk),
            }
        )
    more = max(0, len(owed) - MAX_LINES)
    owed = owed[:MAX_LINES]
    title = _("督办每日汇总（%(day)s）：新消息 %(m)s 条，待办事项 %(n)s 件") % {
        "day": workday.isoformat(),
        "m": len(messages),
        "n": len(owed) + more,
    }
    lines = [_("一、新消息")]
    lines += [f"{i}. {m['title']}" + (f" {m['link']}" if m["link"] else "") for i, m in enumerate(messages[:MAX_LINES], 1)]
    if len(messages) > MAX_LINES:
        lines.append(_("……另有 %(n)s 条，请登录查看。") % {"n": len(messages) - MAX_LINES})
    lines.append(_("二、您的待办事项"))
    if not owed:
        lines.append(_("暂无。"))
    for i, o in enumerate(owed, 1):
        deadline = o["deadline"] or _("无时限")
        lines.append(f"{i}. [{o['light_label']}] {o['code']} {o['title']}（{_('时限')}：{deadline}） {o['link']}")
    if more:
        lines.append(_("……另有 %(n)s 件，请登录查看。") % {"n": more})
    payload = {
        "kind": "digest",
        "workday": workday.isoformat(),
        "recipient": {"id": user.pk, "username": user.username, "name": str(user)},
        "messages": messages,
        "owed_items": owed,
        "title": title,
    }
    return title, "\n".join(lines), payload


# ---------------------------------------------------------------------------------------------
# Making the day's digests


def digest_workday(now: datetime.datetime) -> datetime.date | None:
    """The working day whose digests are due at `now`: today once the office's time has come."""
    local = timezone.localtime(now)
    if not is_workday(local.date()) or local.time() < DigestSetting.current().send_time:
        return None
    return local.date()


def digest_make(*, recipient_id: int, channel: str, workday: datetime.date, now: datetime.datetime) -> Digest | None:
    """Make and queue one person's digest for the day, taking up the deliveries waiting for it.
    None when the day's digest exists already (a second beat, a repeated task) or nothing waits."""
    with transaction.atomic():
        # get_or_create inserts in a savepoint: a concurrent maker waits on the unique constraint,
        # then finds this row and leaves it alone.
        digest, created = Digest.objects.get_or_create(
            recipient_id=recipient_id,
            channel=channel,
            workday=workday,
            defaults={"title": "", "body": "", "next_attempt_at": now, "created_at": now},
        )
        if not created:
            return None
        waiting = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.DIGESTED, digest__isnull=True, channel=channel, notification__recipient_id=recipient_id)
            .select_related("notification__item")
            .order_by("notification__created_at", "pk")
        )
        if not waiting:
            transaction.set_rollback(True)
            return None
        user = User.objects.get(pk=recipient_id)
        digest.title, digest.body, digest.payload = compose(user, channel, workday, waiting)
        digest.title = digest.title[:200]
        digest.save(update_fields=["title", "body", "payload", "updated_at"])
        Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(digest=digest, updated_at=now)
        digest_outbox.queue([digest.pk])
    return digest


def digests_make_due(*, now: datetime.datetime | None = None) -> list[int]:
    """The beat's run: once the office's time has come on a working day, make each waiting
    person's digest per channel. Safe to run every minute and twice at once."""
    now = now or timezone.now()
    workday = digest_workday(now)
    if workday is None:
        return []
    pairs = (
        Delivery.objects.filter(status=DeliveryStatus.DIGESTED, digest__isnull=True)
        .values_list("notification__recipient_id", "channel")
        .distinct()
    )
    made = []
    for recipient_id, channel in list(pairs):
        digest = digest_make(recipient_id=recipient_id, channel=channel, workday=workday, now=now)
        if digest is not None:
            made.append(digest.pk)
    return made


# ---------------------------------------------------------------------------------------------
# Sending: the one outbox machinery


class DigestOutbox(Outbox[Digest]):
    model = Digest
    task_name = "tasks.delivery.deliver_digest"
    attempt_related = ("recipient",)
    resendable = (DeliveryStatus.DEAD, DeliveryStatus.FAILED)
    resend_denied = gettext_lazy("只有督查室工作人员或管理员可以重新发送消息。")
    not_resendable = gettext_lazy("只有“失败待处理”或“重试中”的汇总可以重新发送，当前状态为“%(status)s”。")
    not_resendable_code = "digest_not_failed"

    def max_attempts(self) -> int:
        return settings.DUBAN_DELIVERY_MAX_ATTEMPTS

    def send(self, digest: Digest) -> None:
        backend_for(digest.channel).send(digest, OutgoingMessage(title=digest.title, body=digest.body, payload=digest.payload))

    def may_resend(self, actor: User) -> bool:
        return actor.is_office

    def operator_rows(self, actor: User) -> QuerySet[Digest]:
        return Digest.objects.all() if actor.is_office else Digest.objects.none()

    def resend_audit(self, digest: Digest, before: dict) -> dict:
        return {
            "action": "digest_resent",
            "from_status": before["status"],
            "to_status": digest.status,
            "data": {"channel": digest.channel, "recipient_id": digest.recipient_id, "workday": str(digest.workday), **before},
        }


digest_outbox = DigestOutbox()


def digest_attempt(*, delivery_id: int) -> Digest | None:
    return digest_outbox.attempt(delivery_id)


def digest_requeue_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    return digest_outbox.requeue_due(now=now, limit=limit)


def digest_resend(*, actor: User, digest: Digest) -> Digest:
    return digest_outbox.resend(actor=actor, row=digest)
