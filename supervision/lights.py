"""Warning lights (红黄绿灯), defined once.

- overdue: an open item past its deadline (past the day, or past the time of day for a 特急 item
  due at a given time);
- red: due today;
- yellow: from `warning_date` on, the first day on which either the configured share of the working
  time has passed or only the configured number of working days remain (per urgency);
- green: otherwise; none: no running deadline (draft, done, suspended, cancelled, no time limit).

The light itself is a SQL expression (`light_q`, `light_case`) so lists, filters, counts and the
dashboard all compute it the same way in the database. `warning_date` is the one calendar-dependent
input; it is stored on the item and recomputed whenever the deadline, urgency, thresholds or the
calendar change (supervision/warning_dates.py).

This module reads no table and imports no model: the querysets build every list's light from it."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Case, CharField, IntegerField, Q, Value, When
from django.utils import timezone

from supervision.choices import OPEN_STATUSES, Light, Urgency

# Used when the admin has not set a threshold for an urgency.
DEFAULT_THRESHOLDS: dict[str, tuple[Decimal, int]] = {
    Urgency.NORMAL: (Decimal("0.67"), 3),
    Urgency.URGENT: (Decimal("0.50"), 2),
    Urgency.EXTRA_URGENT: (Decimal("0.50"), 1),
}


def _now_parts(now: datetime.datetime | None) -> tuple[datetime.date, datetime.time]:
    local = timezone.localtime(now or timezone.now())
    return local.date(), local.time()


RUNNING_Q = Q(status__in=OPEN_STATUSES, deadline__isnull=False)

# The lights of a running item (open, with a deadline), worst first.
RUNNING_LIGHTS = (Light.OVERDUE, Light.RED, Light.YELLOW, Light.GREEN)


def _past_due_q(today: datetime.date, time_now: datetime.time) -> Q:
    # Written as a range on the deadline (`<= today`) and a refinement, so the partial index on open
    # deadlines is read only up to today instead of being filtered whole.
    return Q(deadline__lte=today) & (Q(deadline__lt=today) | Q(deadline_time__isnull=False, deadline_time__lt=time_now))


def running_light_q(light: str, now: datetime.datetime | None = None) -> Q:
    """Which running light (overdue, red, yellow, green) an item has, for an item already known to
    be running (open, with a deadline). `light_q` is this and `RUNNING_Q`; counts grouped by status
    use it alone and add up the open statuses, which saves testing the status on every row."""
    today, time_now = _now_parts(now)
    past_due = _past_due_q(today, time_now)
    return {
        Light.OVERDUE: past_due,
        Light.RED: Q(deadline=today) & ~past_due,
        Light.YELLOW: Q(deadline__gt=today, warning_date__lte=today),
        Light.GREEN: Q(deadline__gt=today) & (Q(warning_date__isnull=True) | Q(warning_date__gt=today)),
    }[Light(light)]


def light_q(light: str, now: datetime.datetime | None = None) -> Q:
    """The condition for one light; filters and counts are built from these."""
    if Light(light) == Light.NONE:
        return ~RUNNING_Q
    return RUNNING_Q & running_light_q(light, now)


def _light_branches(now: datetime.datetime | None) -> tuple[list[tuple[Q, Light]], Light]:
    """The conditions of `light_q` taken in order, so each branch only adds what tells it from the
    ones before (a much shorter expression for PostgreSQL to plan per list), and the light of rows
    that meet none."""
    today, time_now = _now_parts(now)
    return [
        (~RUNNING_Q, Light.NONE),
        (_past_due_q(today, time_now), Light.OVERDUE),
        (Q(deadline=today), Light.RED),
        (Q(warning_date__lte=today), Light.YELLOW),
    ], Light.GREEN


def light_case(now: datetime.datetime | None = None) -> Case:
    """The light of each row."""
    branches, otherwise = _light_branches(now)
    return Case(
        *(When(condition, then=Value(light.value)) for condition, light in branches),
        default=Value(otherwise.value),
        output_field=CharField(),
    )


# What needs doing soonest first: overdue, red, yellow, green, then no running deadline.
URGENCY_RANK = {Light.OVERDUE: 0, Light.RED: 1, Light.YELLOW: 2, Light.GREEN: 3, Light.NONE: 4}


def light_rank(now: datetime.datetime | None = None) -> Case:
    """Each row's light as its place in URGENCY_RANK, for ordering lists most urgent first. Written
    from the branches directly: a CASE over the `light` annotation repeats that whole CASE once per
    light, and planning the 工作台's unit list took longer than running it."""
    branches, otherwise = _light_branches(now)
    return Case(
        *(When(condition, then=Value(URGENCY_RANK[light])) for condition, light in branches),
        default=Value(URGENCY_RANK[otherwise]),
        output_field=IntegerField(),
    )
