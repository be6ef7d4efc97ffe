"""OA intake records: which instruction (and items) an OA system's own id stands for.

The unique constraint (actor, external_id) makes intake idempotent: whatever the retries and
races, one external id of one sender becomes one instruction. The logic is in supervision/intake.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IntakeRecord(models.Model):
    """An instruction pushed in by a sender (an OA system's service account, or a person testing
    the endpoint) under the sender's own id, with a digest of the body it was created from, so a
    retry with the same body is recognised and a different body under the same id is refused."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("推送方"), on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(
        "accounts.IntegrationClient",
        verbose_name=_("对接系统"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="intake_records",
    )
    external_id = models.CharField(_("外部编号"), max_length=100)
    body_digest = models.CharField(_("请求体摘要"), max_length=64)
    # Null only inside the creating transaction: the record is inserted first so that a racing
    # twin waits on the unique index instead of doing the whole intake for nothing.
    instruction = models.OneToOneField(
        "supervision.Instruction",
        verbose_name=_("批示件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="intake_record",
    )
    created_at = models.DateTimeField(_("接收时间"), default=timezone.now)

    class Meta:
        verbose_name = _("OA 推送记录")
        verbose_name_plural = _("OA 推送记录")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["actor", "external_id"], name="uniq_intake_actor_external_id")]

    def __str__(self) -> str:
        return f"{self.external_id} → {self.instruction_id}"


class IntakeItem(models.Model):
    """One item of an intake record under the sender's id for it (unique within the instruction)."""

    record = models.ForeignKey(IntakeRecord, verbose_name=_("推送记录"), on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(_("外部编号"), max_length=100)
    item = models.OneToOneField("supervision.Item", verbose_name=_("事项"), on_delete=models.PROTECT, related_name="intake")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)

    class Meta:
        verbose_name = _("OA 推送事项")
        verbose_name_plural = _("OA 推送事项")
        ordering = ["record", "position"]
        constraints = [models.UniqueConstraint(fields=["record", "external_id"], name="uniq_intake_item_external_id")]

    def __str__(self) -> str:
        return f"{self.external_id} → {self.item_id}"
