"""Overdue explanations (超期说明), rulings (免责 / 问责) and notices (通报): DOMAIN.md rules 7, 8, 9.

Writes go through supervision/services/ (explanations.py, notices.py); reads through
supervision/querysets.py, which builds on `Item.objects.visible_to`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification
from supervision.choices import ExplanationStatus, NoticeKind, NoticeStatus, ReasonKind, Ruling

User = settings.AUTH_USER_MODEL


class OverdueExplanation(models.Model):
    """超期说明: what one responsible unit (lead or supporting) owes for one missed deadline.

    Opened by the overdue sweep as `awaiting`; the unit files its reason (`submitted`); the office
    rules exemption or accountability (`ruled`). One per (item, unit, deadline): a sweep that runs
    twice opens nothing new, and an extension that is missed again starts a new episode."""

    item = models.ForeignKey(
        "supervision.Item", on_delete=models.CASCADE, related_name="overdue_explanations", verbose_name=_("事项")
    )
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("责任单位"))
    deadline = models.DateField(_("超期的办理时限"))
    due_by = models.DateField(_("说明截止日期"))
    status = models.CharField(_("状态"), max_length=24, choices=ExplanationStatus.choices, default=ExplanationStatus.AWAITING)
    reason_kind = models.CharField(_("原因类型"), max_length=16, choices=ReasonKind.choices, blank=True)
    text = models.TextField(_("超期说明"), blank=True)
    submitted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("说明人")
    )
    submitted_at = models.DateTimeField(_("说明时间"), null=True, blank=True)
    # Rule 14: the unit's head (or a named deputy) signs before the explanation reaches the office.
    needs_endorsement = models.BooleanField(_("须单位负责人签字"), default=False)
    endorsed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("单位签字人")
    )
    endorsed_at = models.DateTimeField(_("单位签字时间"), null=True, blank=True)
    self_endorsed = models.BooleanField(_("说明人即签字人"), default=False)
    endorsement_comment = models.TextField(_("单位签字意见"), blank=True)
    ruling = models.CharField(_("认定结果"), max_length=16, choices=Ruling.choices, blank=True)
    ruled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("认定人")
    )
    ruled_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    ruling_comment = models.TextField(_("认定意见"), blank=True)
    # Accountability may go to 纪检 and 组织部门; one referral per (item, department) is shared by
    # every unit's explanation on that item, so this is many-to-many rather than one FK.
    referrals = models.ManyToManyField(
        "supervision.Referral", blank=True, related_name="overdue_explanations", verbose_name=_("移交")
    )
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)

    class Meta:
        verbose_name = _("超期说明")
        verbose_name_plural = _("超期说明")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The sweep's de-duplication key (STYLE.md habit 4).
            models.UniqueConstraint(fields=["item", "unit", "deadline"], name="uniq_explanation_item_unit_deadline"),
            models.CheckConstraint(
                condition=Q(status=ExplanationStatus.AWAITING) | ~Q(reason_kind="") | Q(ruling=Ruling.ACCOUNTABILITY),
                name="explanation_reason_when_filed",
            ),
            models.CheckConstraint(
                condition=(Q(status=ExplanationStatus.RULED, ruled_at__isnull=False) & ~Q(ruling=""))
                | (~Q(status=ExplanationStatus.RULED) & Q(ruling="")),
                name="explanation_ruling_only_when_ruled",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_by"], name="explanation_status_due"),
            # The office's 工作台 list "待认定超期说明" (submitted, or awaiting past due_by), by due_by:
            # an OR of two statuses cannot walk (status, due_by) in order, so it sorted every one
            # of 38,000 explanations at a million items (85 ms) for the first 8.
            models.Index(
                fields=["due_by", "id"],
                condition=Q(status__in=[ExplanationStatus.AWAITING, ExplanationStatus.SUBMITTED]),
                name="explanation_open_due",
            ),
            models.Index(fields=["unit", "status"], name="explanation_unit_status"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.unit_id}:{self.deadline}"

    @property
    def is_late(self) -> bool:
        """Filed after `due_by`, or still not filed and `due_by` has passed."""
        if self.submitted_at is not None:
            return timezone.localdate(self.submitted_at) > self.due_by
        return self.status == ExplanationStatus.AWAITING and timezone.localdate() > self.due_by


class ExplanationAttachment(models.Model):
    """Evidence filed with an explanation. A link table, so Attachment stays as it is; the
    attachment is unique here, so one file never appears under two explanations."""

    explanation = models.ForeignKey(OverdueExplanation, on_delete=models.CASCADE, related_name="attachment_links")
    attachment = models.OneToOneField("supervision.Attachment", on_delete=models.CASCADE, related_name="explanation_link")

    class Meta:
        verbose_name = _("超期说明附件")
        verbose_name_plural = _("超期说明附件")
        ordering = ["id"]


class Notice(models.Model):
    """通报: a praise, criticism or reminder notice about selected items and units (DOMAIN.md rule 9).

    Drafted and edited by the office, then issued once with a number such as 督通〔2026〕3号.
    `classification` is the highest of its items': a notice never travels further than its
    most sensitive item may."""

    number = models.CharField(_("文号"), max_length=40, unique=True, null=True, blank=True, editable=False)
    year = models.PositiveIntegerField(_("年度"), null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(_("序号"), null=True, blank=True, editable=False)
    kind = models.CharField(_("通报类型"), max_length=16, choices=NoticeKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    status = models.CharField(_("状态"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    # Rule 8: good examples are recommended to the organization department.
    recommend_to_organization = models.BooleanField(_("向组织部门推荐"), default=False)
    classification = models.PositiveSmallIntegerField(_("密级"), choices=Classification.choices, default=Classification.PUBLIC)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("拟稿人"))
    created_at = models.DateTimeField(_("拟稿时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    issued_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("印发人")
    )
    issued_at = models.DateTimeField(_("印发时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="uniq_notice_year_sequence"),
            models.CheckConstraint(
                condition=Q(status=NoticeStatus.DRAFT, number__isnull=True)
                | Q(status=NoticeStatus.ISSUED, number__isnull=False, issued_at__isnull=False),
                name="notice_number_iff_issued",
            ),
            models.CheckConstraint(
                condition=Q(recommend_to_organization=False) | Q(kind=NoticeKind.PRAISE), name="notice_recommend_only_praise"
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="notice_status_kind")]

    def __str__(self) -> str:
        return self.number or self.title


class NoticeEntry(models.Model):
    """One item and unit named in a notice, with what the notice says about them."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="entries", verbose_name=_("通报"))
    item = models.ForeignKey("supervision.Item", on_delete=models.PROTECT, related_name="notice_entries", verbose_name=_("事项"))
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="notice_entries", verbose_name=_("单位"))
    remark = models.CharField(_("情况"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("通报事项")
        verbose_name_plural = _("通报事项")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["notice", "item", "unit"], name="uniq_notice_item_unit")]
        indexes = [models.Index(fields=["unit", "notice"], name="notice_entry_unit")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.item_id}:{self.unit_id}"
