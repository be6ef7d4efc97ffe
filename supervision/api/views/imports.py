"""Excel ledger import over the API: upload a workbook (202, a background job), then follow the
job's progress, errors (row, column, message) and summary; office staff only, own jobs only."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.choices import IntegrationOperation
from supervision.api.inputs import parse
from supervision.api.serializers.imports import ImportJobInput, ImportJobSerializer
from supervision.errors import NotPermitted, NotVisible
from supervision.exchange.importer import error_report_workbook, import_job_create
from supervision.models import ImportJob

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportJobViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """台账导入任务. POST a .xlsx (with `dry_run` to only check it); the import runs in the
    background. Every row is validated first; any error and nothing is written."""

    integration_operation = IntegrationOperation.IMPORT_LEDGER
    lookup_value_regex = r"[0-9]+"
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        user = self.request.user
        if not user.is_office:
            # An office-only feature: nobody else has jobs; the list says so plainly (403).
            raise NotPermitted(_("只有督查室工作人员可以导入台账。"), code="office_only")
        return ImportJob.objects.filter(created_by=user).select_related("created_by").order_by("-created_at", "-id")

    def get_object(self):
        job = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if job is None:
            raise NotVisible()
        return job

    @extend_schema(
        request={"multipart/form-data": ImportJobInput},
        responses={
            202: ImportJobSerializer,
            429: OpenApiResponse(description="超出每人导入任务配额（DUBAN_IMPORT_JOB_QUOTA）；Retry-After 给出秒数"),
        },
        summary="上传台账并导入",
    )
    def create(self, request):
        data = parse(ImportJobInput, request)
        job = import_job_create(actor=request.user, uploaded_file=data["file"], dry_run=data["dry_run"])
        return Response(
            ImportJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("import-detail", args=[job.pk])},
        )

    @extend_schema(responses=ImportJobSerializer, summary="导入任务进度、错误与结果")
    def retrieve(self, request, pk=None):
        return Response(ImportJobSerializer(self.get_object()).data)

    @extend_schema(responses={(200, XLSX): bytes}, summary="下载错误报告（.xlsx，含“错误说明”列）")
    @action(detail=True, methods=["get"], url_path="error-report", url_name="error-report")
    def error_report(self, request, pk=None):
        job = self.get_object()
        if not job.errors:
            raise NotVisible(_("该导入任务没有错误报告。"))
        response = HttpResponse(error_report_workbook(job), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.xlsx"'
        return response
