"""Export approvals (涉密事项导出审批): DOMAIN.md rule 13, "未经批准不得擅自公开".

A cleared user sees 秘密/机密 items on screen, but a file leaves the building. The supervision office
records, per person, up to which classification that person may take item details out in exported
files, why, who approved it and for how long. `supervision/export_policy.py` reads the active
approvals; writes go through `supervision/services_exports.py` (granted and revoked, both audited).
An approval is never edited: a change is a revocation and a new grant, so the record says who
allowed what and when."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification

User = settings.AUTH_USER_MODEL

# Only classified levels need an approval: 公开 and 内部 items are exported without one.
APPROVABLE_CLASSIFICATIONS = (Classification.SECRET, Classification.CONFIDENTIAL)
APPROVABLE_CHOICES = [(c.value, c.label) for c in APPROVABLE_CLASSIFICATIONS]


class ExportApprovalQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None) -> ExportApprovalQuerySet:
        """In force on the day `on` (today): not revoked, valid_from ≤ day ≤ valid_until."""
        on = on or timezone.localdate()
        return self.filter(revoked_at__isnull=True, valid_from__lte=on, valid_until__gte=on)

    def visible_to(self, user) -> ExportApprovalQuerySet:
        """The office (who grants them) sees every approval; anyone else only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_office:
            return self
        return self.filter(grantee_id=user.pk)


class ExportApproval(models.Model):
    """One person's recorded approval to export item details up to a classification (秘密 or 机密),
    for a period. Granted by office staff cleared at least to that level, never by the grantee."""

    grantee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="export_approvals", verbose_name=_("被批准人"))
    classification = models.PositiveSmallIntegerField(
        _("批准导出的最高密级"),
        choices=APPROVABLE_CHOICES,
        help_text=_("可导出不高于此密级的事项明细，且不高于被批准人的密级权限"),
    )
    reason = models.TextField(_("批准事由"))
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("批准人"))
    approved_at = models.DateTimeField(_("批准时间"), default=timezone.now)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("截止日期"), help_text=_("含当日"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("撤销人")
    )
    revoke_reason = models.TextField(_("撤销理由"), blank=True)

    objects = ExportApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("涉密导出审批")
        verbose_name_plural = _("涉密导出审批")
        ordering = ["-approved_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="export_approval_period_order"),
            models.CheckConstraint(
                condition=Q(classification__in=[c.value for c in APPROVABLE_CLASSIFICATIONS]),
                name="export_approval_classified_only",
            ),
            # Four eyes: nobody approves their own export.
            models.CheckConstraint(condition=~Q(grantee=F("approved_by")), name="export_approval_not_self"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="export_approval_revoked_with_actor",
            ),
        ]
        indexes = [
            # export_policy asks one question per export: this grantee's unrevoked approvals by end date.
            models.Index(
                fields=["grantee", "valid_until"], condition=Q(revoked_at__isnull=True), name="export_approval_grantee_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantee}：{self.get_classification_display()}（{self.valid_from} 至 {self.valid_until}）"

    def is_active(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.revoked_at is None and self.valid_from <= on <= self.valid_until
