"""The office's timing rules, edited in the admin: warning-light thresholds (红黄绿灯) and reminder
policies (催办规则: when and to whom reminders and escalations go, per urgency and category).
The schedule built from them lives in supervision/reminders.py, the lights in supervision/lights.py."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supervision.choices import Urgency

User = settings.AUTH_USER_MODEL


class WarningThreshold(models.Model):
    """When the light turns yellow, per urgency: after a share of the working time has passed, or
    when only a few working days remain, whichever comes first. Editable in the admin."""

    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, unique=True)
    yellow_share = models.DecimalField(
        _("黄灯：已用时间占比"), max_digits=3, decimal_places=2, help_text=_("例如 0.67 表示已过三分之二的办理时间")
    )
    yellow_workdays = models.PositiveSmallIntegerField(_("黄灯：剩余工作日"), help_text=_("剩余工作日不多于此数时亮黄灯"))

    class Meta:
        verbose_name = _("红黄绿灯阈值")
        verbose_name_plural = _("红黄绿灯阈值")
        ordering = ["urgency"]
        constraints = [
            models.CheckConstraint(condition=Q(yellow_share__gt=0, yellow_share__lte=1), name="threshold_share_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_urgency_display()}：{self.yellow_share:.0%} / {self.yellow_workdays} 个工作日"


class ReminderPolicy(models.Model):
    """The reminder rules for items of one urgency (and optionally one category; a policy without
    a category applies to every category that has none of its own)."""

    name = models.CharField(_("名称"), max_length=100)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices)
    category = models.ForeignKey(
        "supervision.Category", verbose_name=_("类别"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    acknowledge_within_hours = models.PositiveSmallIntegerField(
        _("签收时限（小时）"), default=24, help_text=_("交办后超过此时限仍未签收的单位将被提醒")
    )
    remind_reports = models.BooleanField(_("按反馈周期提醒报送进展"), default=True)
    send_time = models.TimeField(_("提醒发送时间"), default=datetime.time(9, 0), help_text=_("工作日的这个时间发送定时提醒"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("催办规则")
        verbose_name_plural = _("催办规则")
        ordering = ["urgency", "category_id"]
        constraints = [
            models.UniqueConstraint(fields=["urgency", "category"], name="uniq_policy_urgency_category"),
            models.UniqueConstraint(fields=["urgency"], condition=Q(category__isnull=True), name="uniq_policy_urgency_default"),
        ]

    def __str__(self) -> str:
        return self.name


class ReminderStep(models.Model):
    """One step: N working days before (negative), on (0) or after (positive) the deadline, and who
    hears of it. The last step of an overdue item also lists it for supervision (挂牌督办)."""

    policy = models.ForeignKey(ReminderPolicy, on_delete=models.CASCADE, related_name="steps", verbose_name=_("催办规则"))
    offset_workdays = models.SmallIntegerField(_("相对时限（工作日）"), help_text=_("负数为到期前，0 为到期当日，正数为超期后"))
    to_owner = models.BooleanField(_("责任人"), default=True)
    to_unit_handlers = models.BooleanField(_("承办人"), default=True)
    to_unit_head = models.BooleanField(_("单位负责人"), default=False)
    to_office = models.BooleanField(_("督查室"), default=False)
    to_issuing_leader = models.BooleanField(_("批示领导"), default=False)

    class Meta:
        verbose_name = _("催办步骤")
        verbose_name_plural = _("催办步骤")
        ordering = ["policy", "offset_workdays"]
        constraints = [models.UniqueConstraint(fields=["policy", "offset_workdays"], name="uniq_step_offset")]

    def __str__(self) -> str:
        if self.offset_workdays < 0:
            return _("到期前 %(n)s 个工作日") % {"n": -self.offset_workdays}
        if self.offset_workdays == 0:
            return str(_("到期当日"))
        return _("超期 %(n)s 个工作日") % {"n": self.offset_workdays}


class FigureRules(models.Model):
    """The office's rules for the figures that need a judgement (one row, edited in the admin):
    when an item "in progress" counts as stale (停滞), and the weights of the quarterly 考核 score
    (supervision/stats/assessment.py). Every change is audited (services/rules.py)."""

    stale_unchanged_reports = models.PositiveSmallIntegerField(
        _("停滞：连续进度不变的反馈次数"), default=3, help_text=_("牵头单位最近这么多次反馈的进度（%）都相同，即计为停滞")
    )
    stale_grace_days = models.PositiveSmallIntegerField(
        _("停滞：反馈周期宽限天数"), default=7, help_text=_("超过反馈周期再加这么多天没有任何反馈，即计为停滞")
    )
    stale_default_cycle_days = models.PositiveSmallIntegerField(
        _("停滞：不定期事项的反馈周期（天）"), default=30, help_text=_("反馈周期为“不定期”的事项按此天数判断")
    )
    score_base = models.DecimalField(_("考核：基础分"), max_digits=6, decimal_places=2, default=40)
    score_on_time_rate = models.DecimalField(
        _("考核：按原定时限按时办结率满分"),
        max_digits=6,
        decimal_places=2,
        default=60,
        help_text=_("按时办结率 100% 得此分，按比例计"),
    )
    score_overdue = models.DecimalField(_("考核：每件超期"), max_digits=6, decimal_places=2, default=-2)
    score_stale = models.DecimalField(_("考核：每件停滞"), max_digits=6, decimal_places=2, default=-1)
    score_relapsed = models.DecimalField(_("考核：每件反弹"), max_digits=6, decimal_places=2, default=-3)
    score_praise = models.DecimalField(_("考核：每次表扬通报"), max_digits=6, decimal_places=2, default=2)
    score_criticism = models.DecimalField(_("考核：每次批评通报"), max_digits=6, decimal_places=2, default=-3)
    score_accountability = models.DecimalField(_("考核：每件问责认定"), max_digits=6, decimal_places=2, default=-5)

    class Meta:
        verbose_name = _("统计口径与考核权重")
        verbose_name_plural = _("统计口径与考核权重")
        constraints = [models.CheckConstraint(condition=Q(stale_unchanged_reports__gte=2), name="stale_reports_at_least_two")]

    def __str__(self) -> str:
        return str(_("统计口径与考核权重"))

    @classmethod
    def current(cls) -> FigureRules:
        """The one row (the defaults until the office saves it)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
