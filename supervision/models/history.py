"""What the ledger's current state forgets and the figures need: every deadline an item had, and
from when to when it was in force (issue 14: a past month end is counted with the deadline then
in force, not with one an extension set later)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supervision.choices import DeadlineSource


class DeadlineSpan(models.Model):
    """One deadline of an item and the time it was in force: from `valid_from` (assignment, the
    approval of an extension, a failed return visit's rectification deadline) until the next one
    (`valid_until`, empty while in force). Written by the services that set or move a deadline, in
    their transaction; never edited."""

    item = models.ForeignKey("supervision.Item", on_delete=models.CASCADE, related_name="deadline_spans", verbose_name=_("事项"))
    deadline = models.DateField(_("办理时限"))
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("失效时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=DeadlineSource.choices)
    request = models.ForeignKey(
        "supervision.ItemRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("延期申请")
    )

    class Meta:
        verbose_name = _("办理时限变更记录")
        verbose_name_plural = _("办理时限变更记录")
        ordering = ["item", "valid_from", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(valid_until__isnull=True), name="one_deadline_in_force"),
        ]
        indexes = [models.Index(fields=["item", "valid_from"], name="deadline_span_item_from")]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.deadline} ({self.valid_from:%Y-%m-%d} – {self.valid_until or ''})"
