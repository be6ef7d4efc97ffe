"""Less burden on the grassroots (DOMAIN.md rule 12, 督查瘦身、减负): the inspection activities the office
books (统筹督查), the weekly limits it sets per measure, and the alerts sent when a unit passes one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.choices import ActivityKind, BurdenMetric

User = settings.AUTH_USER_MODEL


class SupervisionActivity(models.Model):
    """统筹督查: an inspection activity (实地督查, 暗访暗查, 联合督查) with its dates, the bodies taking
    part and the units it visits. A unit booked twice in one week is flagged before saving, so the
    visits are combined rather than stacked."""

    kind = models.CharField(_("督查方式"), max_length=16, choices=ActivityKind.choices)
    title = models.CharField(_("名称"), max_length=200)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    bodies = models.CharField(_("参加单位"), max_length=500, blank=True, help_text=_("如 县委督查室、县政府督查室、县纪委监委"))
    target_units = models.ManyToManyField("accounts.Unit", related_name="supervision_activities", verbose_name=_("督查对象"))
    notes = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    class Meta:
        verbose_name = _("督查活动")
        verbose_name_plural = _("督查活动")
        ordering = ["-start_date", "-id"]
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="activity_dates_in_order")]
        indexes = [models.Index(fields=["start_date", "end_date"], name="activity_dates")]

    def __str__(self) -> str:
        return self.title


class BurdenLimit(models.Model):
    """The office's weekly limit for one measure (e.g. more than 20 reminders a week)."""

    metric = models.CharField(_("指标"), max_length=32, choices=BurdenMetric.choices, unique=True)
    weekly_limit = models.PositiveIntegerField(_("每周上限"), help_text=_("单位一周内超过此数时通知督查室"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("减负上限")
        verbose_name_plural = _("减负上限")
        ordering = ["metric"]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} > {self.weekly_limit}"


class BurdenAlert(models.Model):
    """The office was told that a unit passed a limit in a week: once per (unit, week, measure)."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+", verbose_name=_("单位"))
    week_start = models.DateField(_("周一"))
    metric = models.CharField(_("指标"), max_length=32, choices=BurdenMetric.choices)
    value = models.PositiveIntegerField(_("数值"))
    weekly_limit = models.PositiveIntegerField(_("上限"))
    created_at = models.DateTimeField(_("通知时间"), default=timezone.now)

    class Meta:
        verbose_name = _("减负提醒")
        verbose_name_plural = _("减负提醒")
        ordering = ["-week_start", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "week_start", "metric"], name="burden_alert_once_per_unit_week"),
        ]
