"""Ledger exchange with the outside: export approvals (涉密事项导出审批) and background export jobs,
Excel import jobs, and OA intake records.

Export approvals (涉密事项导出审批): DOMAIN.md rule 13, "未经批准不得擅自公开".

A cleared user sees 秘密/机密 items on screen, but a file leaves the building. The supervision office
records, per person, up to which classification that person may take item details out in exported
files, why, who approved it and for how long. `supervision/export_policy.py` reads the active
approvals; writes go through `supervision/services/exports.py` (granted and revoked, both audited).
An approval is never edited: a change is a revocation and a new grant, so the record says who
allowed what and when."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.choices import APPROVABLE_CHOICES, APPROVABLE_CLASSIFICATIONS, ExportJobStatus, ImportJobStatus, ImportPhase
from supervision.querysets import ExportApprovalQuerySet

User = settings.AUTH_USER_MODEL


class ExportApproval(models.Model):
    """One person's recorded approval to export item details up to a classification (秘密 or 机密),
    for a period. Granted by office staff cleared at least to that level, never by the grantee."""

    grantee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="export_approvals", verbose_name=_("被批准人"))
    classification = models.PositiveSmallIntegerField(
        _("批准导出的最高密级"),
        choices=APPROVABLE_CHOICES,
        help_text=_("可导出不高于此密级的事项明细，且不高于被批准人的密级权限"),
    )
    reason = models.TextField(_("批准事由"))
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("批准人"))
    approved_at = models.DateTimeField(_("批准时间"), default=timezone.now)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("截止日期"), help_text=_("含当日"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("撤销人")
    )
    revoke_reason = models.TextField(_("撤销理由"), blank=True)

    objects = ExportApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("涉密导出审批")
        verbose_name_plural = _("涉密导出审批")
        ordering = ["-approved_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="export_approval_period_order"),
            models.CheckConstraint(
                condition=Q(classification__in=[c.value for c in APPROVABLE_CLASSIFICATIONS]),
                name="export_approval_classified_only",
            ),
            # Four eyes: nobody approves their own export.
            models.CheckConstraint(condition=~Q(grantee=F("approved_by")), name="export_approval_not_self"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="export_approval_revoked_with_actor",
            ),
        ]
        indexes = [
            # export_policy asks one question per export: this grantee's unrevoked approvals by end date.
            models.Index(
                fields=["grantee", "valid_until"], condition=Q(revoked_at__isnull=True), name="export_approval_grantee_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grantee}：{self.get_classification_display()}（{self.valid_from} 至 {self.valid_until}）"

    def is_active(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.revoked_at is None and self.valid_from <= on <= self.valid_until


def export_file_path(instance: ExportJob, filename: str) -> str:
    today = datetime.date.today()
    return f"exports/{today:%Y/%m}/{instance.created_by_id}-{filename}"


class ExportJob(models.Model):
    """A ledger export written in the background (tasks/exports.py), for files too big to build
    within one request: a province's whole ledger is a million rows and a quarter of an hour of
    writing. The same rule as the immediate export (supervision/ledger_export.py) decides what the
    file holds, evaluated when the job runs; only the person who asked may download it, and the file
    is deleted DUBAN_EXPORT_JOB_KEEP_HOURS after it was written (the job row and the audit event,
    with the file's SHA-256, stay)."""

    file_format = models.CharField(_("格式"), max_length=8)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=ExportJobStatus.choices, default=ExportJobStatus.QUEUED)
    rows = models.PositiveIntegerField(_("导出行数"), null=True, blank=True)
    omitted = models.PositiveIntegerField(_("未导出的涉密事项"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to=export_file_path, blank=True)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("失败原因"), blank=True)
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("导出人"))
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    file_deleted_at = models.DateTimeField(_("文件删除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("台账导出任务")
        verbose_name_plural = _("台账导出任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "created_at"], name="exportjob_owner_time"),
            models.Index(fields=["finished_at"], name="exportjob_finished_at", condition=Q(file_deleted_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="exportjob_status_valid"
            ),
            models.CheckConstraint(condition=Q(file_format__in=["xlsx", "csv"]), name="exportjob_format_valid"),
            # A finished job has a finishing time; a succeeded one says what its file held.
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"]) | Q(finished_at__isnull=False), name="exportjob_finished_at"
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | (Q(rows__isnull=False) & ~Q(sha256="")), name="exportjob_succeeded_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename or self.file_format}（{self.get_status_display()}）"


def import_file_path(instance: ImportJob, filename: str) -> str:
    today = datetime.date.today()
    return f"imports/{today:%Y/%m}/{instance.sha256[:16]}-{filename}"


class ImportJob(models.Model):
    """One upload of a ledger workbook (.xlsx), imported — or only checked (dry run) — by a
    Celery task. A job runs once: the task claims it from `queued` under a row lock."""

    file = models.FileField(_("文件"), upload_to=import_file_path)
    original_name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    dry_run = models.BooleanField(_("仅试导入"), default=False, help_text=_("只校验并列出将创建的内容，不写入台账"))
    status = models.CharField(_("状态"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    phase = models.CharField(_("阶段"), max_length=16, choices=ImportPhase.choices, default=ImportPhase.WAITING)
    rows_total = models.PositiveIntegerField(_("数据行数"), default=0)
    rows_validated = models.PositiveIntegerField(_("已校验行数"), default=0)
    rows_written = models.PositiveIntegerField(_("已写入行数"), default=0)
    # [{"row": 12, "column": "牵头单位", "message": "…"}]; row is None for a problem with the whole file.
    errors = models.JSONField(_("错误报告"), default=list, blank=True)
    summary = models.JSONField(_("导入结果"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("导入人"))
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("台账导入")
        verbose_name_plural = _("台账导入")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"], name="importjob_owner_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]), name="importjob_status_valid"
            ),
            # A finished job has a finishing time; a queued one has not started.
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running"]) | Q(finished_at__isnull=False), name="importjob_finished_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name}（{self.get_status_display()}）"

    @property
    def percent(self) -> int:
        """0–100: validation is the first half of the work, writing the second (a dry run: all of it)."""
        if not self.rows_total:
            return 100 if self.status in (ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED) else 0
        if self.dry_run:
            return min(100, self.rows_validated * 100 // self.rows_total)
        return min(100, (self.rows_validated + self.rows_written) * 50 // self.rows_total)


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
