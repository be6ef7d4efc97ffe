"""Leader comments (批示 / 点评) on an item or an instruction, and who has read them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

User = settings.AUTH_USER_MODEL


class LeaderComment(models.Model):
    """A leader's (or the office's) comment on one item or one instruction (issue 12). Seen by
    whoever can see what it is on; listed for the units concerned until each reader marks it read."""

    item = models.ForeignKey(
        "supervision.Item", null=True, blank=True, on_delete=models.CASCADE, related_name="comments", verbose_name=_("事项")
    )
    instruction = models.ForeignKey(
        "supervision.Instruction",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="comments",
        verbose_name=_("批示件"),
    )
    text = models.TextField(_("批示内容"))
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("批示人"))
    created_at = models.DateTimeField(_("批示时间"), default=timezone.now)

    class Meta:
        verbose_name = _("领导批示")
        verbose_name_plural = _("领导批示")
        ordering = ["-created_at", "-id"]
        # 批示待阅 reads the newest first and stops at the thousand it counts (read backwards).
        indexes = [models.Index(fields=["created_at", "id"], name="comment_newest_first")]
        constraints = [
            # On exactly one thing: an item or an instruction.
            models.CheckConstraint(
                condition=Q(item__isnull=False, instruction__isnull=True) | Q(item__isnull=True, instruction__isnull=False),
                name="comment_on_item_or_instruction",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:30]


class CommentRead(models.Model):
    """A reader has read a comment: it leaves their "to read" list. Once per reader (unique)."""

    comment = models.ForeignKey(LeaderComment, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("批示阅读记录")
        verbose_name_plural = _("批示阅读记录")
        constraints = [models.UniqueConstraint(fields=["comment", "user"], name="uniq_comment_read")]
