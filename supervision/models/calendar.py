"""The working-day calendar (工作日历): public holidays and make-up working days (调休上班日).

Only the exceptions to the ordinary week are stored; a date with no row is a working day from
Monday to Friday and a rest day on Saturday and Sunday. Deadlines counted in working days
(DOMAIN.md rule 5, 限时办结) are computed by `supervision.workcalendar` from these rows, so a year
with no rows at all (e.g. one the chinese-calendar package does not know yet) still works:
weekends only, until the State Council's announcement is entered (`manage.py calendar_add_year`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supervision.choices import CalendarDayKind, CalendarDaySource

User = settings.AUTH_USER_MODEL


WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class CalendarDay(models.Model):
    """One exception to the Monday–Friday working week: a day of a public holiday (法定节假日, a rest
    day; every day of the holiday block is stored, weekend days included, so the block keeps its
    name) or a make-up working day (调休上班日, a Saturday or Sunday worked in exchange)."""

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("上班"), help_text=_("调休上班日为是，法定节假日为否"))
    kind = models.CharField(_("类型"), max_length=20, choices=CalendarDayKind.choices)
    name = models.CharField(_("名称"), max_length=100, help_text=_("例如：春节、国庆节、春节调休"))
    source = models.CharField(_("来源"), max_length=20, choices=CalendarDaySource.choices, default=CalendarDaySource.MANUAL)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]
        constraints = [
            # The two fields say the same thing twice; they must never disagree.
            models.CheckConstraint(
                condition=(
                    Q(kind=CalendarDayKind.HOLIDAY, is_workday=False) | Q(kind=CalendarDayKind.MAKEUP_WORKDAY, is_workday=True)
                ),
                name="calendarday_kind_matches_is_workday",
                violation_error_message=_("法定节假日不上班，调休上班日上班：“类型”与“上班”不一致。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.weekday_name} {self.get_kind_display()} {self.name}".rstrip()

    @property
    def weekday_name(self) -> str:
        return WEEKDAY_NAMES[self.date.weekday()]
