"""Serializers for Excel ledger import jobs (台账导入)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from supervision.api.serializers.people import UserBriefSerializer
from supervision.models import ImportJob


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text=_("Excel 中的行号；为空表示整个文件的问题"))
    column = serializers.CharField(help_text=_("文件中的列名"))
    message = serializers.CharField(help_text=_("问题说明"))


class ImportProgressSerializer(serializers.Serializer):
    phase = serializers.CharField()
    phase_display = serializers.CharField()
    rows_total = serializers.IntegerField()
    rows_validated = serializers.IntegerField()
    rows_written = serializers.IntegerField()
    percent = serializers.IntegerField(help_text=_("0–100"))


class ImportJobSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField()
    errors = ImportErrorSerializer(many=True, read_only=True)
    summary = serializers.JSONField(read_only=True, help_text=_("将创建 / 已创建的批示件、事项（按状态、按牵头单位）与跳过的行"))
    created_by = UserBriefSerializer(read_only=True)
    error_report_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "original_name",
            "size",
            "sha256",
            "dry_run",
            "status",
            "status_display",
            "status_label",
            "progress",
            "errors",
            "summary",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "error_report_url",
        ]

    @extend_schema_field(ImportProgressSerializer)
    def get_progress(self, job: ImportJob) -> dict:
        return ImportProgressSerializer(
            {
                "phase": job.phase,
                "phase_display": job.get_phase_display(),
                "rows_total": job.rows_total,
                "rows_validated": job.rows_validated,
                "rows_written": job.rows_written,
                "percent": job.percent,
            }
        ).data

    def get_error_report_url(self, job: ImportJob) -> str | None:
        return reverse("import-error-report", args=[job.pk]) if job.errors else None


class ImportJobInput(serializers.Serializer):
    file = serializers.FileField(help_text=_("台账 Excel 文件（.xlsx）"))
    dry_run = serializers.BooleanField(default=False, help_text=_("仅校验并列出将创建的内容，不写入台账"))
