"""减负: the office is told when a unit passes a weekly limit it set (BurdenLimit, in the admin), once per
unit, week and measure — the unique constraint on BurdenAlert is the guarantee, so the hourly task
(tasks/burden.py) may run as often as it likes."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import Unit, User
from supervision import outbox
from supervision.choices import BurdenMetric
from supervision.models import BurdenAlert, Item
from supervision.stats.burden import active_limits, burden_week, week_start


def burden_alerts_send(*, day: datetime.date | None = None) -> list[BurdenAlert]:
    """Tell the office about every unit above a limit in the week of `day` (today). Returns the
    alerts written now (those already sent are not sent again)."""
    limits = active_limits()
    if not limits:
        return []
    monday = week_start(day or timezone.localdate())
    figures = burden_week(items=Item.objects.all(), monday=monday)
    office = list(User.objects.filter(is_active=True, role_assignments__role=Role.OFFICE_STAFF).distinct())
    names = dict(Unit.objects.filter(pk__in=list(figures)).values_list("pk", "name"))
    sent = []
    for unit_id, values in sorted(figures.items()):
        for metric, limit in sorted(limits.items()):
            value = values.get(metric, 0)
            if value <= limit:
                continue
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        alert = BurdenAlert.objects.create(
                            unit_id=unit_id, week_start=monday, metric=metric, value=int(value), weekly_limit=limit
                        )
                except IntegrityError:
                    continue  # told already this week
                label = BurdenMetric(metric).label
                outbox.notify(
                    recipients=office,
                    title=_("减负提醒：%(unit)s 本周%(metric)s %(value)s，超过上限 %(limit)s")
                    % {"unit": names.get(unit_id, ""), "metric": label, "value": value, "limit": limit},
                    body=_("统计周：%(monday)s 起。请统筹合并督办、减少重复催办。") % {"monday": monday},
                    kind="burden",
                    dedup_key=f"burden:unit-{unit_id}:week-{monday}:{metric}",
                )
                sent.append(alert)
    return sent
