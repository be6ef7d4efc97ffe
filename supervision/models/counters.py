"""Numbers the office issues in sequence per year: ledger codes and notice numbers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from supervision.choices import CounterSeries


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
