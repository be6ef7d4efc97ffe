"""Reminders and escalation (催办, 督办升级), as rules; tasks/reminders.py only runs them.

For an open item the schedule holds:
- acknowledgement reminders: a responsible unit that has not signed within the policy's hours;
- deadline steps: N working days before, on, and after the (current) deadline, each to the
  recipients the step names; scheduled steps go out on working days at the policy's send time;
- progress-report reminders when a report is due by the item's reporting cycle;
- after the last step, an item still overdue is listed for supervision (挂牌督办).

Exactly once: every reminder carries a dedup key naming the item, the deadline or episode and the
step; the outbox's unique constraints (recipient, key) and (notification, channel) make a repeat
or a concurrent sweep harmless. `Item.next_reminder_at` (partial index on open items) says when the
sweep must look at the item next, so a sweep never scans the ledger.

Quiet hours (rule 12, less burden): no reminder at night or on a rest day, except for 特急 items."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from supervision import outbox
from supervision.audit import audit_record
from supervision.choices import OPEN_STATUSES, ReportingCycle, Urgency
from supervision.models import Item, ItemLink, ReminderPolicy, ReminderStep
from supervision.workcalendar import add_workdays, is_workday

CYCLE_DAYS = {
    ReportingCycle.WEEKLY: 7,
    ReportingCycle.BIWEEKLY: 14,
    ReportingCycle.MONTHLY: 30,
    ReportingCycle.QUARTERLY: 91,
}

# Used when no policy row exists for an urgency: (offset, owner, handlers, head, office, leader).
BUILTIN_STEPS = {
    Urgency.NORMAL: [
        (-3, 1, 1, 0, 0, 0),
        (-1, 1, 1, 0, 0, 0),
        (0, 1, 1, 1, 0, 0),
        (1, 1, 1, 1, 0, 0),
        (3, 1, 1, 1, 1, 0),
        (5, 1, 1, 1, 1, 1),
    ],
    Urgency.URGENT: [(-1, 1, 1, 0, 0, 0), (0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 1, 0), (3, 1, 1, 1, 1, 1)],
    Urgency.EXTRA_URGENT: [(0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 1, 1)],
}
BUILTIN_ACK_HOURS = {Urgency.NORMAL: 24, Urgency.URGENT: 4, Urgency.EXTRA_URGENT: 1}


@dataclass(frozen=True)
class Recipients:
    owner: bool = False
    unit_handlers: bool = False
    unit_head: bool = False
    office: bool = False
    issuing_leader: bool = False
    units: tuple[int, ...] = ()  # for acknowledgement reminders: the units that have not signed


@dataclass(frozen=True)
class Reminder:
    """One scheduled reminder of one item."""

    fire_at: datetime.datetime
    key: str
    kind: str  # acknowledge | deadline | report | listing
    title: str
    recipients: Recipients
    is_last_step: bool = False


@dataclass
class Policy:
    acknowledge_within_hours: int
    remind_reports: bool
    send_time: datetime.time
    steps: list[ReminderStep] = field(default_factory=list)


def policy_for(item: Item, cache: dict | None = None) -> Policy:
    """The item's policy: its (urgency, category), else its urgency's default, else built in."""
    cache = {} if cache is None else cache
    key = (item.urgency, item.category_id)
    if key not in cache:
        rows = list(
            ReminderPolicy.objects.filter(urgency=item.urgency, is_active=True)
            .filter(Q(category_id=item.category_id) | Q(category__isnull=True))
            .prefetch_related("steps")
        )
        rows.sort(key=lambda p: p.category_id is None)  # the category's own policy first
        if rows:
            p = rows[0]
            cache[key] = Policy(p.acknowledge_within_hours, p.remind_reports, p.send_time, list(p.steps.all()))
        else:
            steps = [
                ReminderStep(offset_workdays=o, to_owner=a, to_unit_handlers=b, to_unit_head=c, to_office=d, to_issuing_leader=e)
                for o, a, b, c, d, e in BUILTIN_STEPS[Urgency(item.urgency)]
            ]
            cache[key] = Policy(BUILTIN_ACK_HOURS[Urgency(item.urgency)], True, datetime.time(9, 0), steps)
    return cache[key]


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def allowed_time(moment: datetime.datetime, *, urgent: bool, send_time: datetime.time) -> datetime.datetime:
    """The first moment at or after `moment` outside quiet hours (night, rest days); 特急 are never held."""
    if urgent:
        return moment
    local = timezone.localtime(moment)
    start, end = settings.DUBAN_REMINDER_DAY_STARTS, settings.DUBAN_REMINDER_DAY_ENDS
    if is_workday(local.date()) and start <= local.time() < end:
        return moment
    day = local.date()
    if not (is_workday(day) and local.time() < start):
        day = add_workdays(day, 1)
    return _at(day, max(send_time, start))


def schedule(item: Item, *, policy: Policy | None = None, assignments=None, last_report_at=None) -> list[Reminder]:
    """Every reminder the item's current state calls for, sent or not, in time order."""
    if item.status not in OPEN_STATUSES or item.assigned_at is None:
        return []
    if ItemLink.objects.filter(item_id=item.pk, unlinked_at__isnull=True).exists():
        return []  # 合并督办: the lead item's reminders speak for both (rule 12: one chase per matter)
    policy = policy or policy_for(item)
    urgent = item.urgency == Urgency.EXTRA_URGENT
    reminders: list[Reminder] = []
    assignments = list(item.assignments.all()) if assignments is None else assignments

    unsigned = tuple(sorted(a.unit_id for a in assignments if a.acknowledged_at is None))
    if unsigned and policy.acknowledge_within_hours:
        due = item.assigned_at + datetime.timedelta(hours=policy.acknowledge_within_hours)
        reminders.append(
            Reminder(
                fire_at=allowed_time(due, urgent=urgent, send_time=policy.send_time),
                key=f"ack:item-{item.pk}:assigned-{item.assigned_at:%Y%m%d%H%M%S}",
                kind="acknowledge",
                title=_("请及时签收督办事项“%(title)s”") % {"title": item.title},
                recipients=Recipients(unit_handlers=True, unit_head=True, units=unsigned),
            )
        )

    if item.deadline:
        steps = sorted(policy.steps, key=lambda s: s.offset_workdays)
        for index, step in enumerate(steps):
            offset = step.offset_workdays
            if offset == 0:
                day = item.deadline if is_workday(item.deadline) or urgent else add_workdays(item.deadline, -1)
            else:
                day = add_workdays(item.deadline, offset)
            fire_at = _at(day, policy.send_time)
            if urgent and offset == 0 and item.deadline_time:
                # Same-day items: two hours before the hour they are due (but not before assignment).
                fire_at = max(_at(item.deadline, item.deadline_time) - datetime.timedelta(hours=2), item.assigned_at)
            if offset < 0:
                title = _("督办事项“%(title)s”将于 %(date)s 到期") % {"title": item.title, "date": item.deadline}
            elif offset == 0:
                title = _("督办事项“%(title)s”今日到期") % {"title": item.title}
            else:
                title = _("督办事项“%(title)s”已超期 %(n)s 个工作日") % {"title": item.title, "n": offset}
            reminders.append(
                Reminder(
                    fire_at=fire_at,
                    key=f"deadline:item-{item.pk}:due-{item.deadline}:step-{offset}",
                    kind="deadline" if offset <= 0 else "overdue",
                    title=title,
                    recipients=Recipients(
                        owner=step.to_owner,
                        unit_handlers=step.to_unit_handlers,
                        unit_head=step.to_unit_head,
                        office=step.to_office,
                        issuing_leader=step.to_issuing_leader,
                    ),
                    is_last_step=index == len(steps) - 1 and offset > 0,
                )
            )

    days = CYCLE_DAYS.get(item.reporting_cycle)
    if days and policy.remind_reports:
        since = (
            last_report_at
            if last_report_at is not None
            else item.reports.order_by("-submitted_at").values_list("submitted_at", flat=True).first()
        )
        since = max(filter(None, [since, item.assigned_at]))
        due_day = timezone.localtime(since).date() + datetime.timedelta(days=days)
        if not item.deadline or due_day < item.deadline:
            reminders.append(
                Reminder(
                    fire_at=allowed_time(_at(due_day, policy.send_time), urgent=urgent, send_time=policy.send_time),
                    key=f"report:item-{item.pk}:due-{due_day}",
                    kind="report",
                    title=_("请按反馈周期报送督办事项“%(title)s”的进展") % {"title": item.title},
                    recipients=Recipients(owner=True, unit_handlers=True),
                )
            )
    # Anything scheduled before the item was assigned (a step "3 days before" a 2-day limit) is moot.
    return sorted((r for r in reminders if r.fire_at >= item.assigned_at), key=lambda r: r.fire_at)


def recipients_for(item: Item, spec: Recipients) -> list[User]:
    """The people a reminder reaches: never anyone below the item's classification (rule 13)."""
    query = Q(pk__in=[])
    lead_units = list(spec.units) or ([item.lead_unit_id] if item.lead_unit_id else [])
    if spec.owner and item.owner_id:
        query |= Q(pk=item.owner_id)
    if spec.unit_handlers and lead_units:
        query |= Q(unit_id__in=lead_units, role_assignments__role=Role.UNIT_HANDLER)
    if spec.unit_head and lead_units:
        query |= Q(unit_id__in=lead_units, role_assignments__role=Role.UNIT_HEAD) | Q(headed_units__in=lead_units)
    if spec.office:
        query |= Q(role_assignments__role=Role.OFFICE_STAFF)
    if spec.issuing_leader and item.instruction.issuing_leader_id:
        query |= Q(pk=item.instruction.issuing_leader_id)
    return list(User.objects.filter(query, is_active=True, clearance__gte=item.classification).distinct().order_by("pk"))


def next_reminder_at(item: Item, now: datetime.datetime | None = None, **kwargs) -> datetime.datetime | None:
    """When the sweep must look at the item next: now if a due reminder has not gone out yet (a
    deadline moved into a step's past, a restart after an outage), else the next step's time."""
    now = now or timezone.now()
    plan = schedule(item, **kwargs)
    due = _latest_per_kind([r for r in plan if r.fire_at <= now])
    if due:
        sent = outbox.sent_keys(item_id=item.pk, keys=[r.key for r in due])
        if any(r.key not in sent for r in due):
            return now
    upcoming = [r.fire_at for r in plan if r.fire_at > now]
    if item.is_overdue and item.listed_for_supervision_at is None and any(r.is_last_step for r in plan) and not upcoming:
        return now  # only the listing is left: let the sweep do it at once
    return min(upcoming, default=None)


def reminder_reschedule(item: Item) -> None:
    """Set when the sweep must next look at the item (called by services that move the schedule
    earlier: assignment, extension, resumption, reopening, urgency change). Does not save."""
    item.next_reminder_at = next_reminder_at(item) if item.status in OPEN_STATUSES else None


# ---------------------------------------------------------------------------------------------
# Running the schedule

# While a worker handles a claimed item, no other sweep claims it; if the worker dies, the lease
# runs out and the next sweep claims the item again (never missed; the outbox dedups a repeat).
CLAIM_LEASE = datetime.timedelta(minutes=10)


def reminders_claim_due(*, now: datetime.datetime | None = None, limit: int = 1000) -> list[int]:
    """Select the due items through the partial index and lease them. Two queries, whatever the
    ledger's size; concurrent sweeps skip each other's rows (SKIP LOCKED) and get disjoint sets."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Item.objects.filter(status__in=OPEN_STATUSES, next_reminder_at__lte=now)
            .order_by("next_reminder_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Item.objects.filter(pk__in=ids).update(next_reminder_at=now + CLAIM_LEASE)
    return ids


def _latest_per_kind(due: list[Reminder]) -> list[Reminder]:
    """After an outage only the newest step of each kind goes out: it supersedes the older ones
    and reaches the wider circle (rule 12: no flood of stale reminders)."""
    latest: dict[str, Reminder] = {}
    for reminder in due:
        kind = "deadline" if reminder.kind in ("deadline", "overdue") else reminder.kind
        latest[kind] = reminder
    return list(latest.values())


def reminders_process_item(*, item_id: int, now: datetime.datetime | None = None, policy_cache: dict | None = None) -> int:
    """Send what is due for one item, list it for supervision after the last step, and set when to
    look again. Safe to run twice or concurrently: returns the number of notifications created."""
    now = now or timezone.now()
    created = 0
    with transaction.atomic():
        item = (
            Item.objects.select_for_update(of=("self",))
            .select_related("instruction", "lead_unit", "owner")
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            return 0
        if item.status not in OPEN_STATUSES:
            Item.objects.filter(pk=item.pk).update(next_reminder_at=None)
            return 0
        policy = policy_for(item, policy_cache)
        assignments = list(item.assignments.all())
        plan = schedule(item, policy=policy, assignments=assignments)
        due = [r for r in plan if r.fire_at <= now]
        for reminder in _latest_per_kind(due):
            body = _("事项编号：%(code)s；办理时限：%(deadline)s；当前状态：%(status)s。") % {
                "code": item.code,
                "deadline": item.deadline or _("无"),
                "status": item.get_status_display(),
            }
            created += len(
                outbox.notify(
                    recipients=recipients_for(item, reminder.recipients),
                    title=reminder.title,
                    body=body,
                    kind=reminder.kind,
                    dedup_key=reminder.key,
                    item=item,
                )
            )
        last_step_passed = any(r.is_last_step for r in due)
        update = {}
        if last_step_passed and item.listed_for_supervision_at is None and item.is_overdue:
            # 挂牌督办: the office and the issuing leader take the item over.
            update["listed_for_supervision_at"] = now
            update["version"] = item.version + 1
            created += len(
                outbox.notify(
                    recipients=recipients_for(item, Recipients(office=True, issuing_leader=True, unit_head=True)),
                    title=_("督办事项“%(title)s”逾期未办结，已挂牌督办") % {"title": item.title},
                    body=_("事项编号：%(code)s；办理时限：%(deadline)s。") % {"code": item.code, "deadline": item.deadline},
                    kind="listing",
                    dedup_key=f"listing:item-{item.pk}:due-{item.deadline}",
                    item=item,
                )
            )
            audit_record(
                actor=None,
                action="item_listed_for_supervision",
                obj=item,
                item=item,
                from_status=item.status,
                to_status=item.status,
                data={"deadline": item.deadline},
            )
            item.listed_for_supervision_at = now
        upcoming = [r.fire_at for r in plan if r.fire_at > now]
        update["next_reminder_at"] = min(upcoming, default=None)
        Item.objects.filter(pk=item.pk).update(**update)
    return created


def reminders_reschedule_open(*, urgency: str | None = None) -> int:
    """After a policy edit: recompute next_reminder_at for open items (of one urgency). Returns the count changed."""
    qs = Item.objects.filter(status__in=OPEN_STATUSES, assigned_at__isnull=False)
    if urgency:
        qs = qs.filter(urgency=urgency)
    cache: dict = {}
    changed = []
    for item in qs.select_related("instruction").iterator(chunk_size=500):
        new = next_reminder_at(item, policy=policy_for(item, cache))
        if new != item.next_reminder_at:
            item.next_reminder_at = new
            changed.append(item)
    Item.objects.bulk_update(changed, ["next_reminder_at"], batch_size=1000)
    return len(changed)
