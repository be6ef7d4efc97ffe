"""When a message to a person may go out, and whether it goes on its own or in the daily digest
(DOMAIN.md rule 12, less burden; issues 12 and 15).

- **Pressing messages go at once**: 特急 (the sender's `urgent`, or an item of urgency 特急) and
  anything about an item due today — held until tomorrow, it would arrive after its deadline.
- **Quiet hours**: any other message written outside the working day (DUBAN_REMINDER_DAY_STARTS to
  _ENDS on a working day of supervision/workcalendar.py) is held on the push channels until the next
  working day starts. The inbox is never held: it is read when the person signs in and disturbs no one.
- **Digest or immediate**, per person and channel: the person's choice where the office lets people
  choose (ChannelPolicy.person_may_choose), else the channel's default. Digested messages wait for
  the person's one digest of the working day (tasks/outbox/digests.py)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from supervision.choices import Urgency
from supervision.workcalendar import is_workday, next_workday
from tasks.choices import PUSH_CHANNELS, Channel, DeliveryMode
from tasks.models import ChannelPolicy, NotificationPreference


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, time))


def is_pressing(*, urgent: bool, item, now: datetime.datetime) -> bool:
    """特急, or about an item due today (or at a time today): never held, never digested."""
    if urgent:
        return True
    if item is None:
        return False
    if item.urgency == Urgency.EXTRA_URGENT:
        return True
    return item.deadline is not None and item.deadline == timezone.localdate(now)


def release_time(now: datetime.datetime) -> datetime.datetime | None:
    """None inside the working day (or with DUBAN_QUIET_HOURS off); else when the next working day starts."""
    if not settings.DUBAN_QUIET_HOURS:
        return None
    local = timezone.localtime(now)
    start, end = settings.DUBAN_REMINDER_DAY_STARTS, settings.DUBAN_REMINDER_DAY_ENDS
    today = local.date()
    if is_workday(today):
        if start <= local.time() < end:
            return None
        if local.time() < start:
            return _at(today, start)
    return _at(next_workday(today), start)


def within_working_day(now: datetime.datetime) -> bool:
    return release_time(now) is None


class Modes:
    """Each recipient's mode per channel, read in two queries for a whole send."""

    def __init__(self, user_ids: Iterable[int]):
        self.policies = {p.channel: p for p in ChannelPolicy.objects.all()}
        self.chosen = {(p.user_id, p.channel): p.mode for p in NotificationPreference.objects.filter(user_id__in=list(user_ids))}

    def mode(self, user_id: int, channel: str) -> str:
        return effective_mode(channel, self.policies.get(channel), self.chosen.get((user_id, channel)))


def effective_mode(channel: str, policy: ChannelPolicy | None, chosen: str | None) -> str:
    if channel not in PUSH_CHANNELS or channel == Channel.INBOX:
        return DeliveryMode.IMMEDIATE
    default = policy.default_mode if policy is not None else DeliveryMode.IMMEDIATE
    may_choose = policy.person_may_choose if policy is not None else True
    return chosen if (chosen and may_choose) else default
