"""Excel ledger import jobs (台账导入任务): an uploaded workbook, validated and written in the
background by tasks/imports.py, with its progress, error report and summary."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("未通过")


class ImportPhase(models.TextChoices):
    """What the job is doing now, for the progress display."""

    WAITING = "waiting", _("等待开始")
    READING = "reading", _("读取文件")
    VALIDATING = "validating", _("逐行校验")
    WRITING = "writing", _("写入台账")
    DONE = "done", _("结束")


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
