"""Enumerations shared across apps: roles and the classification ladder (密级)."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class TranslatedLabels:
    """A choice list's labels, translated once per language rather than once per row: the text of
    `get_x_display()`, which hashes the field's choices on every call (a fifth of an API list page's
    time at 20 rows; most of a <select> of 1,700 people). An unknown value reads as itself."""

    def __init__(self, choices):
        self.labels = dict(choices)
        self.translated: dict[str | None, dict] = {}

    def __getitem__(self, value) -> str:
        language = get_language()
        labels = self.translated.get(language)
        if labels is None:
            labels = self.translated[language] = {key: str(label) for key, label in self.labels.items()}
        return labels[value] if value in labels else str(value)


class Classification(models.IntegerChoices):
    """密级. A user's clearance and an item's classification use the same ladder."""

    PUBLIC = 0, _("公开")
    INTERNAL = 1, _("内部")
    SECRET = 2, _("秘密")
    CONFIDENTIAL = 3, _("机密")


class Role(models.TextChoices):
    """What a user may do; a user may hold several roles."""

    OFFICE_STAFF = "office_staff", _("督查员")
    # 督查室主任: approves a 督查员's items before they are assigned, when the office requires it.
    OFFICE_DIRECTOR = "office_director", _("督查室主任")
    UNIT_HANDLER = "unit_handler", _("承办人")
    UNIT_HEAD = "unit_head", _("单位负责人")
    LEADER = "leader", _("领导")
    DISCIPLINE = "discipline", _("纪检")
    ORGANIZATION = "organization", _("组织部门")
    ADMINISTRATOR = "administrator", _("管理员")


class UnitKind(models.TextChoices):
    PARTY_OFFICE = "party_office", _("党委办公室")
    SUPERVISION_OFFICE = "supervision_office", _("督查室")
    DEPARTMENT = "department", _("部门")
    TOWNSHIP = "township", _("乡镇")
    DISCIPLINE = "discipline", _("纪检监察机关")
    ORGANIZATION = "organization", _("组织部门")
    LEADERSHIP = "leadership", _("领导班子")
    OTHER = "other", _("其他")


class IntegrationOperation(models.TextChoices):
    """What an integration client (an OA system) may call with its API key. Deny by default: an
    API view that names no operation refuses every key."""

    INTAKE = "intake", _("推送批示件和督办事项")
    READ_LEDGER = "read_ledger", _("查询督办事项和批示件")
    WEBHOOKS = "webhooks", _("管理事件订阅")
    IMPORT_LEDGER = "import_ledger", _("导入 Excel 台账")


class IdempotencyKeyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("处理中")
    COMPLETED = "completed", _("已完成")
