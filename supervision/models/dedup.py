"""Duplicate matters (DOMAIN.md rule 12, 减负: 多头督查、重复督查): each item's precomputed matching
signature, the suspicions raised for the office to decide (疑似重复), and the links that put several
items of one matter under one lead item (合并督办)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.choices import SuspicionSource, SuspicionStatus

User = settings.AUTH_USER_MODEL


class ItemSignature(models.Model):
    """An item as the duplicate detector reads it (supervision.matching.Signature.to_json()),
    computed by the item services whenever the title, requirement, units or instruction change.

    `lead_unit` is copied from the item so a lookup reads one unit's signatures through an index
    without touching the ledger's other rows."""

    item = models.OneToOneField(
        "supervision.Item", primary_key=True, on_delete=models.CASCADE, related_name="signature", verbose_name=_("事项")
    )
    lead_unit = models.ForeignKey("accounts.Unit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data = models.TextField(_("特征"))
    # The characters of title and requirement (what `data` weighs): a lookup first bounds the score
    # from these alone and parses `data` only for the items that could still reach the threshold.
    chars = models.TextField(_("字符"), blank=True)
    computed_at = models.DateTimeField(_("计算时间"), default=timezone.now)

    class Meta:
        verbose_name = _("事项特征")
        verbose_name_plural = _("事项特征")
        indexes = [models.Index(fields=["lead_unit", "item"], name="signature_unit_item")]


class PoolChar(models.Model):
    """One character of an item in its lead unit's duplicate pool, with the share of the item's title
    (and of its title and text) that the character carries: an inverted index the duplicate lookup
    reads on PostgreSQL (services/candidate_pool.py, migrations 0028-0029). Never written by the services:
    triggers on ItemSignature keep it, so no service, QuerySet.update or import leaves it stale.

    `key` is the lead unit << 29 | pool bucket << 21 | code point; the bucket is 0 while the item is
    live, else 1 + the month it left (closed) modulo 255; code point 0 marks an item whose signature
    is not computed yet. Items out of the pool (cancelled, linked to a lead) have no rows."""

    pk = models.CompositePrimaryKey("item", "key")
    item = models.ForeignKey("supervision.Item", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    key = models.BigIntegerField()
    title_share = models.FloatField()
    body_share = models.FloatField()

    class Meta:
        verbose_name = _("重复检索索引")
        verbose_name_plural = _("重复检索索引")
        # The lookup reads a key's rows with their shares from the index alone (an index-only scan).
        indexes = [models.Index(fields=["key"], include=["item", "title_share", "body_share"], name="poolchar_key")]


class DuplicateSuspicion(models.Model):
    """疑似重复: `item` may be the same matter as `candidate` (an item already on the ledger).

    Raised by intake and import (registration shows candidates before saving instead); the office
    confirms or dismisses it. One row per unordered pair, whatever its status: a dismissed pair is
    never raised again."""

    item = models.ForeignKey("supervision.Item", on_delete=models.CASCADE, related_name="suspicions", verbose_name=_("事项"))
    candidate = models.ForeignKey(
        "supervision.Item", on_delete=models.CASCADE, related_name="suspected_by", verbose_name=_("疑似重复的事项")
    )
    score = models.FloatField(_("相似度"))
    reasons = models.JSONField(_("理由"), default=list)
    source = models.CharField(_("来源"), max_length=16, choices=SuspicionSource.choices)
    status = models.CharField(_("状态"), max_length=16, choices=SuspicionStatus.choices, default=SuspicionStatus.PENDING)
    created_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("处理人")
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    comment = models.TextField(_("处理意见"), blank=True)

    class Meta:
        verbose_name = _("疑似重复")
        verbose_name_plural = _("疑似重复")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Least("item", "candidate"), Greatest("item", "candidate"), name="suspicion_once_per_pair"),
            models.CheckConstraint(condition=~Q(item=F("candidate")), name="suspicion_two_items"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="suspicion_status_time"),
            models.Index(fields=["candidate"], name="suspicion_candidate"),
        ]

    @property
    def reason_text(self) -> str:
        return "，".join(self.reasons)


class ItemLink(models.Model):
    """合并督办: `item` is followed through `lead`. The units sign, report and request once, on the
    lead; the linked item records each of those in its history and gets no reminders of its own.
    With `count_once` the statistics count the matter once, under the lead. An unlinked row stays
    (unlinked_at set) as the record of what was merged and when."""

    item = models.ForeignKey("supervision.Item", on_delete=models.CASCADE, related_name="links", verbose_name=_("事项"))
    lead = models.ForeignKey("supervision.Item", on_delete=models.PROTECT, related_name="linked", verbose_name=_("主办事项"))
    count_once = models.BooleanField(_("统计时只计一次"), default=True)
    comment = models.TextField(_("说明"), blank=True)
    linked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("合并人"))
    linked_at = models.DateTimeField(_("合并时间"), default=timezone.now)
    unlinked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("取消人")
    )
    unlinked_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("合并督办")
        verbose_name_plural = _("合并督办")
        ordering = ["-linked_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(unlinked_at__isnull=True), name="one_active_link_per_item"),
            models.CheckConstraint(condition=~Q(item=F("lead")), name="link_two_items"),
        ]
        indexes = [models.Index(fields=["lead"], condition=Q(unlinked_at__isnull=True), name="link_active_by_lead")]

    @property
    def is_active(self) -> bool:
        return self.unlinked_at is None
