"""The audit trail's rows: append-only, hash-chained events and the chain head (supervision/audit/
writes them; DOMAIN.md rule 14, 签字就是责任)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.querysets import AuditEventQuerySet

User = settings.AUTH_USER_MODEL


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of who did what, when, from which state to which
    (DOMAIN.md rule 14: 签字就是责任). Never updated or deleted; `verify_audit` checks the chain."""

    seq = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作人"))
    actor_name = models.CharField(_("操作人姓名"), max_length=100, blank=True)
    action = models.CharField(_("操作"), max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    item = models.ForeignKey("supervision.Item", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The id of the key (DUBAN_AUDIT_KEYS, kept outside the database) whose HMAC `hash` is; blank
    # for events written before keys were configured (a plain SHA-256, supervision/audit/).
    key_id = models.CharField(max_length=32, blank=True, default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["seq"]
        indexes = [models.Index(fields=["item", "seq"], name="audit_item_seq")]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """The newest link of the audit chain, so deleting the last rows is detected too."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    count = models.BigIntegerField(default=0)
