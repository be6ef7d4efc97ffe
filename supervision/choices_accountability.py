"""Enumerations for overdue explanations, rulings and notices (DOMAIN.md rules 7, 8, 9)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExplanationStatus(models.TextChoices):
    AWAITING = "awaiting", _("待说明")
    SUBMITTED = "submitted", _("已说明")
    RULED = "ruled", _("已认定")


class ReasonKind(models.TextChoices):
    """The unit's own account of why the deadline was missed; the office decides what follows."""

    OBJECTIVE = "objective", _("客观原因")
    SUBJECTIVE = "subjective", _("主观原因")


class Ruling(models.TextChoices):
    EXEMPTION = "exemption", _("免责")
    ACCOUNTABILITY = "accountability", _("问责")


class NoticeKind(models.TextChoices):
    CRITICISM = "criticism", _("批评通报")
    PRAISE = "praise", _("表扬通报")
    REMINDER = "reminder", _("提醒")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ISSUED = "issued", _("已印发")
