"""减负: the burden the ledger puts on each unit, per unit per week (DOMAIN.md rule 12: "一个人干，三个人看，
六个人在督查"; the same unit must not be flooded with reminders nor chased twice for one matter).

For the week Monday 00:00 to the next Monday 00:00 (local time), per unit:
- messages: messages its people received (站内信; one message to three people counts three);
- reminders: reminders that reached it (催办: acknowledgement, deadline, overdue, listing; one
  reminder to several of its people counts once);
- reports_asked: progress reports asked for by the reporting cycle (催报, counted like reminders);
- reports_filed: progress reports it filed;
- open_items: items it leads that were running during the week (assigned before its end, not
  closed or cancelled before its start); matters: the same with items linked to a lead item
  "counted once" left out; items_per_matter = open_items / matters (1.0 is no duplicate chase);
- visits: inspection activities (统筹督查) visiting it during the week.

Item figures go through the viewer's visibility rule. `over_limits` names the measures above the
office's weekly limits (BurdenLimit, edited in the admin)."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision import outbox
from supervision.choices import ItemStatus
from supervision.errors import NotPermitted
from supervision.models import BurdenLimit, Item, ItemLink, ProgressReport, SupervisionActivity

REMINDER_KINDS = ("acknowledge", "deadline", "overdue", "listing", "reminder", "escalation")
REPORT_KINDS = ("report",)
METRICS = ("messages", "reminders", "reports_asked", "reports_filed", "items_per_matter", "visits")


def week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _bounds(monday: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
    return start, start + datetime.timedelta(days=7)


def _item_counts(items, start, end) -> dict[int, tuple[int, int]]:
    running = (
        items.filter(lead_unit__isnull=False, assigned_at__lt=end)
        .exclude(status__in=[ItemStatus.DRAFT])
        .exclude(Q(closed_at__lt=start) | Q(status=ItemStatus.CANCELLED, updated_at__lt=start))
    )
    once = Exists(ItemLink.objects.filter(item=OuterRef("pk"), unlinked_at__isnull=True, count_once=True))
    rows = running.values("lead_unit_id").annotate(n=Count("pk"), merged=Count("pk", filter=Q(once)))
    return {r["lead_unit_id"]: (r["n"], r["n"] - r["merged"]) for r in rows}


def burden_week(*, items, monday: datetime.date, unit_ids: list[int] | None = None) -> dict[int, dict]:
    """The figures of one week for every unit with anything to count (or only `unit_ids`)."""
    start, end = _bounds(monday)
    sunday = monday + datetime.timedelta(days=6)
    received = outbox.received_by_unit(since=start, until=end, unit_ids=unit_ids)
    reports = ProgressReport.objects.filter(item__in=items, submitted_at__gte=start, submitted_at__lt=end)
    activities = SupervisionActivity.objects.filter(start_date__lte=sunday, end_date__gte=monday)
    if unit_ids is not None:
        reports = reports.filter(unit_id__in=unit_ids)
    filed = dict(reports.values_list("unit_id").annotate(n=Count("pk")).values_list("unit_id", "n"))
    visits_qs = activities.values_list("target_units").annotate(n=Count("pk"))
    visits = {unit: n for unit, n in visits_qs if unit is not None}
    item_counts = _item_counts(items if unit_ids is None else items.filter(lead_unit_id__in=unit_ids), start, end)
    units = set(received) | set(filed) | set(visits) | set(item_counts)
    if unit_ids is not None:
        units &= set(unit_ids)
    out = {}
    for unit in units:
        kinds = received.get(unit, {})
        open_items, matters = item_counts.get(unit, (0, 0))
        out[unit] = {
            "messages": sum(n for kind, n in kinds.items() if not kind.startswith("distinct:")),
            "reminders": sum(kinds.get(f"distinct:{kind}", 0) for kind in REMINDER_KINDS),
            "reports_asked": sum(kinds.get(f"distinct:{kind}", 0) for kind in REPORT_KINDS),
            "reports_filed": filed.get(unit, 0),
            "open_items": open_items,
            "matters": matters,
            "items_per_matter": round(open_items / matters, 2) if matters else 0.0,
            "visits": visits.get(unit, 0),
        }
    return out


def over_limits(figures: dict, limits: dict[str, int]) -> list[str]:
    return [metric for metric, limit in limits.items() if figures.get(metric, 0) > limit]


def active_limits() -> dict[str, int]:
    return dict(BurdenLimit.objects.filter(is_active=True).values_list("metric", "weekly_limit"))


def burden_weeks(*, user: User, week: datetime.date | None = None, weeks: int = 1, unit: Unit | None = None) -> list[dict]:
    """Rows (unit, week) for the office and leaders, newest week first, the heaviest unit first."""
    if not user.is_active or not user.sees_whole_ledger:
        raise NotPermitted(_("只有督查室和领导可以查看基层负担统计。"), code="office_only")
    last = week_start(week or timezone.localdate())
    items = Item.objects.visible_to(user)
    limits = active_limits()
    names = dict(Unit.objects.values_list("pk", "name"))
    rows = []
    for back in range(weeks):
        monday = last - datetime.timedelta(days=7 * back)
        figures = burden_week(items=items, monday=monday, unit_ids=[unit.pk] if unit else None)
        week_rows = [
            {"unit_id": pk, "unit": names.get(pk, ""), "week_start": monday, **f, "over_limits": over_limits(f, limits)}
            for pk, f in figures.items()
        ]
        week_rows.sort(key=lambda r: (-r["reminders"], -r["messages"], r["unit"]))
        rows.extend(week_rows)
    return rows


def burden_for_period(*, user: User, start: datetime.date | None, end: datetime.date | None, today: datetime.date) -> list[dict]:
    """The weeks of a period (the quarterly workbook's 基层负担 sheet): every week that starts in it and
    has begun by `today`, at most 14 (a quarter); without a period, the last four weeks."""
    last = week_start(min(end or today, today))
    first = week_start(start) if start else last - datetime.timedelta(days=21)
    weeks = min(14, max(1, (last - first).days // 7 + 1))
    return burden_weeks(user=user, week=last, weeks=weeks)


def burden_panel(*, user: User, today: datetime.date | None = None, rows: int = 10) -> dict | None:
    """The dashboard's 减负 panel: this week and the last, the heaviest units first, units over a
    limit flagged. None for viewers who may not see the burden figures (units)."""
    if not user.is_active or not user.sees_whole_ledger:
        return None
    this_week = week_start(today or timezone.localdate())
    weeks = burden_weeks(user=user, week=this_week, weeks=2)
    current = [r for r in weeks if r["week_start"] == this_week]
    previous = {r["unit_id"]: r for r in weeks if r["week_start"] != this_week}
    for row in current:
        before = previous.get(row["unit_id"])
        row["reminders_last_week"] = before["reminders"] if before else 0
    over = [r for r in current if r["over_limits"]]
    return {
        "week_start": this_week,
        "rows": current[:rows],
        "units": len(current),
        "over_limits": len(over),
        "limits": active_limits(),
    }
