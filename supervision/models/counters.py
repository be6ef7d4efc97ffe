"""Numbers the office issues in sequence per year: ledger codes, notice numbers and assignment
sheets (督办通知单), the numbered documents themselves included."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.choices import CounterSeries


class AssignmentSheet(models.Model):
    """督办通知单: the numbered sheet sent with an instruction's items (issue 12). One per instruction,
    numbered once when first issued; the document always shows the instruction's assigned items."""

    instruction = models.OneToOneField(
        "supervision.Instruction", on_delete=models.CASCADE, related_name="assignment_sheet", verbose_name=_("批示件")
    )
    number = models.CharField(_("文号"), max_length=40, unique=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("签发人"))
    issued_at = models.DateTimeField(_("印发时间"), default=timezone.now)

    class Meta:
        verbose_name = _("督办通知单")
        verbose_name_plural = _("督办通知单")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.number


class YearlyCounter(models.Model):
    """The last number issued in a year of one series (台账编号 DB-2026-0001, 通报编号 督通〔2026〕1号).
    Row-locked while a number is taken (supervision/services/counters.py), so numbers never collide."""

    series = models.CharField(_("编号类别"), max_length=16, choices=CounterSeries.choices)
    year = models.PositiveIntegerField(_("年度"))
    last_number = models.PositiveIntegerField(_("已用到的编号"), default=0)

    class Meta:
        verbose_name = _("年度编号计数")
        verbose_name_plural = _("年度编号计数")
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="uniq_counter_series_year")]

    def __str__(self) -> str:
        return f"{self.get_series_display()} {self.year}: {self.last_number}"
