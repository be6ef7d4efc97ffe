"""Sign-off at every level (DOMAIN.md rule 14, 签字就是责任，画圈就要负责): who signs for a unit
before its requests and explanations reach the office, and the office's own level (the 督查室主任
approves a 督查员's items before they are assigned). The flows live in
supervision/services/signoff.py; who is told at each hand-off in supervision/services/handoffs.py."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

User = settings.AUTH_USER_MODEL


class UnitApprover(models.Model):
    """A deputy who may sign (签字) for a unit besides its head (单位负责人): e.g. the deputy head
    in charge of supervised work. The unit's head signs by default; deputies are named here, in
    the admin."""

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="approvers", verbose_name=_("单位"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="approver_for", verbose_name=_("签字人"))
    note = models.CharField(_("说明"), max_length=100, blank=True, help_text=_("例如：分管副局长"))
    created_at = models.DateTimeField(_("指定时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单位签字人")
        verbose_name_plural = _("单位签字人")
        ordering = ["unit", "id"]
        constraints = [models.UniqueConstraint(fields=["unit", "user"], name="uniq_unit_approver")]

    def __str__(self) -> str:
        return f"{self.unit} · {self.user}"

    def clean(self):
        # Signing for a unit is a duty inside it; someone from elsewhere would sign for work they
        # cannot see (requests are visible to their own unit only).
        if self.user_id and self.unit_id and self.user.unit_id != self.unit_id:
            raise ValidationError({"user": _("签字人必须是本单位人员。")})


class OfficeSettings(models.Model):
    """The office's own switches (one row, edited in the admin)."""

    director_approval_required = models.BooleanField(
        _("督查员立项须经督查室主任审批后交办"),
        default=False,
        help_text=_("开启后，督查员交办的事项先报督查室主任审批，批准后才交办给责任单位。"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("督查室设置")
        verbose_name_plural = _("督查室设置")

    def __str__(self) -> str:
        return str(_("督查室设置"))

    @classmethod
    def current(cls) -> OfficeSettings:
        settings_row, _created = cls.objects.get_or_create(pk=1)
        return settings_row
