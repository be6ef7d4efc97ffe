"""统筹督查: the office books inspection activities (实地督查, 暗访暗查, 联合督查) and combines visits
(DOMAIN.md rule 12: "一个人干，三个人看，六个人在督查"). A unit booked by more than one activity in the
same week is flagged before saving (ActivityClash, 409) unless the office confirms; the warnings are
returned with the saved activity either way and recorded in its audit event."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.choices import ActivityKind
from supervision.errors import InvalidInput, TransitionNotAllowed
from supervision.models import SupervisionActivity
from supervision.services.guards import require_office, require_text

ACTIVITY_FIELDS = ("kind", "title", "start_date", "end_date", "bodies", "notes")


class ActivityClash(TransitionNotAllowed):
    """409: a target unit is already booked by another activity that week; `warnings` lists them."""

    default_code = "activity_clash"


@dataclass(frozen=True)
class Clash:
    unit: Unit
    other: SupervisionActivity

    @property
    def message(self) -> str:
        return _("%(unit)s 在同一周已有督查活动“%(title)s”（%(kind)s，%(start)s 至 %(end)s），建议合并开展。") % {
            "unit": self.unit.name,
            "title": self.other.title,
            "kind": self.other.get_kind_display(),
            "start": self.other.start_date,
            "end": self.other.end_date,
        }

    def as_dict(self) -> dict:
        return {
            "unit_id": self.unit.pk,
            "unit": self.unit.name,
            "activity_id": self.other.pk,
            "activity": self.other.title,
            "kind": self.other.kind,
            "start_date": self.other.start_date.isoformat(),
            "end_date": self.other.end_date.isoformat(),
            "message": self.message,
        }


def week_span(start: datetime.date, end: datetime.date) -> tuple[datetime.date, datetime.date]:
    """From the Monday of the first week to the Sunday of the last."""
    return start - datetime.timedelta(days=start.weekday()), end + datetime.timedelta(days=6 - end.weekday())


def activity_clashes(
    *, start_date: datetime.date, end_date: datetime.date, target_units: Sequence[Unit], exclude_pk: int | None = None
) -> list[Clash]:
    """Other activities visiting one of these units in a week this one touches."""
    monday, sunday = week_span(start_date, end_date)
    units = {u.pk: u for u in target_units}
    others = (
        SupervisionActivity.objects.filter(start_date__lte=sunday, end_date__gte=monday, target_units__in=list(units))
        .exclude(pk=exclude_pk)
        .distinct()
        .prefetch_related("target_units")
        .order_by("start_date", "pk")
    )
    return [Clash(units[u.pk], other) for other in others for u in other.target_units.all() if u.pk in units]


def _check(fields: dict, target_units: Sequence[Unit]) -> None:
    errors: dict[str, list[str]] = {}
    if fields.get("kind") not in ActivityKind.values:
        errors["kind"] = [_("督查方式无效。")]
    if fields.get("start_date") and fields.get("end_date") and fields["end_date"] < fields["start_date"]:
        errors["end_date"] = [_("结束日期不能早于开始日期。")]
    if not target_units:
        errors["target_unit_ids"] = [_("请选择督查对象单位。")]
    if errors:
        raise InvalidInput(fields=errors)


def _save(*, actor, activity, fields, target_units, confirm_clash, action) -> tuple[SupervisionActivity, list[Clash]]:
    require_office(actor)
    fields["title"] = require_text(fields.get("title"), "title", _("请填写督查活动名称。"))
    _check(fields, target_units)
    clashes = activity_clashes(
        start_date=fields["start_date"], end_date=fields["end_date"], target_units=target_units, exclude_pk=activity.pk
    )
    if clashes and not confirm_clash:
        raise ActivityClash(
            _("有 %(n)s 个单位在同一周已安排其他督查活动，请合并开展；确需分开的，确认后再保存。")
            % {"n": len({c.unit.pk for c in clashes})},
            extra={"warnings": [c.as_dict() for c in clashes]},
        )
    for name, value in fields.items():
        setattr(activity, name, value)
    activity.full_clean(exclude=["created_by"])
    activity.save()
    activity.target_units.set(target_units)
    audit_record(
        actor=actor,
        action=action,
        obj=activity,
        data={
            "kind": activity.kind,
            "start_date": activity.start_date,
            "end_date": activity.end_date,
            "target_unit_ids": sorted(u.pk for u in target_units),
            "clashes_confirmed": [c.as_dict() for c in clashes],
        },
    )
    return activity, clashes


@transaction.atomic
def activity_create(
    *, actor: User, target_units: Sequence[Unit], confirm_clash: bool = False, **fields
) -> tuple[SupervisionActivity, list[Clash]]:
    """Book an activity. Returns it with the clashes the office confirmed (empty when none)."""
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    fields.setdefault("bodies", "")
    fields.setdefault("notes", "")
    activity = SupervisionActivity(created_by=actor)
    return _save(
        actor=actor,
        activity=activity,
        fields=fields,
        target_units=target_units,
        confirm_clash=confirm_clash,
        action="activity_created",
    )


@transaction.atomic
def activity_update(
    *,
    actor: User,
    activity: SupervisionActivity,
    target_units: Sequence[Unit] | None = None,
    confirm_clash: bool = False,
    **fields,
) -> tuple[SupervisionActivity, list[Clash]]:
    """Change an activity's dates, units or description (checked for clashes again)."""
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {unknown}")
    activity = SupervisionActivity.objects.select_for_update().get(pk=activity.pk)
    merged = {name: fields.get(name, getattr(activity, name)) for name in ACTIVITY_FIELDS}
    units = list(target_units) if target_units is not None else list(activity.target_units.all())
    return _save(
        actor=actor, activity=activity, fields=merged, target_units=units, confirm_clash=confirm_clash, action="activity_updated"
    )
