"""Export approvals (涉密事项导出审批) and the ledger export's query: output describes, input only
parses; the views hand validated data to supervision.services / ledger_export."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from supervision.api.serializers.people import UserBriefSerializer
from supervision.choices import APPROVABLE_CHOICES, ExportJobStatus
from supervision.exchange.export import FORMATS
from supervision.models import ExportApproval, ExportJob


class ExportApprovalSerializer(serializers.ModelSerializer):
    grantee = UserBriefSerializer(read_only=True)
    approved_by = UserBriefSerializer(read_only=True)
    revoked_by = UserBriefSerializer(read_only=True, allow_null=True)
    classification_display = serializers.CharField(source="get_classification_display", read_only=True)
    is_active = serializers.SerializerMethodField(help_text=_("今天是否有效（未撤销且在有效期内）"))

    class Meta:
        model = ExportApproval
        fields = [
            "id",
            "grantee",
            "classification",
            "classification_display",
            "reason",
            "approved_by",
            "approved_at",
            "valid_from",
            "valid_until",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
            "is_active",
        ]

    def get_is_active(self, approval) -> bool:
        return approval.is_active(timezone.localdate())


class ExportApprovalInput(serializers.Serializer):
    grantee_id = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), source="grantee", help_text=_("被批准人"))
    classification = serializers.ChoiceField(choices=APPROVABLE_CHOICES, help_text=_("批准导出的最高密级：2 秘密，3 机密"))
    reason = serializers.CharField(max_length=2000, help_text=_("批准事由"))
    valid_from = serializers.DateField(required=False, help_text=_("生效日期，默认今天"))
    valid_until = serializers.DateField(help_text=_("截止日期（含当日）"))


class ExportApprovalRevokeInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000, help_text=_("撤销理由"))


class LedgerExportQueryInput(serializers.Serializer):
    """Documents the export's own parameter; the list's filters are documented from ItemFilterSet."""

    format = serializers.ChoiceField(
        choices=[(f, f) for f in FORMATS], required=False, default="xlsx", help_text=_("导出格式：xlsx（默认）或 csv")
    )


class ExportJobSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="file_format")
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    download_url = serializers.SerializerMethodField(help_text=_("完成后下载文件的地址；未完成或文件已删除时为 null"))

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "format",
            "filters",
            "status",
            "status_display",
            "status_label",
            "rows",
            "omitted",
            "filename",
            "sha256",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "file_deleted_at",
            "download_url",
        ]

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJobStatus.SUCCEEDED or job.file_deleted_at is not None:
            return None
        return reverse("export-job-download", args=[job.pk])


class ExportJobInput(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=[(f, f) for f in FORMATS], required=False, default="xlsx", help_text=_("导出格式：xlsx（默认）或 csv")
    )
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=200, allow_blank=True), max_length=50),
        required=False,
        default=dict,
        help_text=_('事项列表的筛选条件，每个参数一个字符串列表，如 {"status": ["in_progress"], "unit": ["12"]}'),
    )
