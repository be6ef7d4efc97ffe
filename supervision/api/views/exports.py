"""Ledger export (GET /api/v1/items/export/?format=xlsx|csv&<the items list's filters>) and export
approvals (/api/v1/export-approvals/). Thin views: parse, call one service, render."""

from __future__ import annotations

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.choices import IntegrationOperation
from supervision import services
from supervision.api.downloads import CsvRenderer, FileErrorsAsJsonMixin, XlsxRenderer, as_attachment
from supervision.api.inputs import parse
from supervision.api.serializers import exports as s
from supervision.exchange.export import (
    CSV_CONTENT_TYPE,
    OMITTED_HEADER,
    ROWS_HEADER,
    XLSX,
    XLSX_CONTENT_TYPE,
    ledger_export,
)
from supervision.exchange.export import jobs as export_jobs
from supervision.filtersets import ExportApprovalFilterSet, ItemFilterSet
from supervision.models import ExportApproval, ExportJob, Item


class LedgerExportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def ledger_file_response(response, *, filename: str, ascii_filename: str, rows: int, omitted: int):
    """A ledger file as an attachment, with what it holds in headers, never cached on the way."""
    as_attachment(response, filename=filename, ascii_filename=ascii_filename)
    response[OMITTED_HEADER] = str(omitted)
    response[ROWS_HEADER] = str(rows)
    response["Cache-Control"] = "no-store"
    return response


class ItemExportView(FileErrorsAsJsonMixin, GenericAPIView):
    """督查台账导出: the items list's view as a file, in the import's column layout."""

    integration_operation = IntegrationOperation.READ_LEDGER
    queryset = Item.objects.none()  # for the schema's filter parameters; reads go through ledger_export
    filterset_class = ItemFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = None
    renderer_classes = [JSONRenderer, XlsxRenderer, CsvRenderer]

    def perform_content_negotiation(self, request, force=False):
        # `format` names the file format here (an unknown one is the export's 400, field "format",
        # not DRF's 404 or 406); the Accept header picks it only when `format` is absent. Errors are
        # JSON whatever was asked for (finalize_response).
        file_format = request.query_params.get("format")
        for renderer_class in (XlsxRenderer, CsvRenderer):
            if file_format == renderer_class.format:
                return renderer_class(), renderer_class.media_type
        if not file_format:
            try:
                return super().perform_content_negotiation(request, force)
            except (Http404, NotFound, NotAcceptable):
                pass
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="导出督查台账（.xlsx 或 CSV）",
        description=(
            "导出与事项列表（/api/v1/items/）相同筛选条件下的全部事项（不分页，顺序与列表相同），列与 Excel 台账导入相同，"
            "导出的工作簿可原样导入。\n\n"
            "- 可见范围与列表相同：高于本人密级的事项不会出现；单位用户只导出本单位牵头或配合的事项，纪检、组织部门只导出移交给本部门的事项。\n"
            "- 涉密（秘密、机密）事项须经督查室审批（/api/v1/export-approvals/）才导出明细；未经批准的不导出并计数："
            "xlsx 在标题下注明“另有 N 项涉密事项因未经批准未导出”，两种格式都在响应头 X-Duban-Omitted-Classified 中给出条数，"
            "X-Duban-Rows 给出导出行数。\n"
            "- xlsx：标题、导出时间和导出人、筛选条件在表头之上，冻结表头，日期为 Excel 日期；CSV：UTF-8 带 BOM，首行为表头。\n"
            "- 每次导出记入审计链（导出人、筛选条件、格式、行数、未导出条数、所依据的审批）。\n"
            "- 筛选参数有误时返回 400，与列表相同。"
        ),
        parameters=[s.LedgerExportQueryInput],
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="督查台账 Excel 工作簿（附件）"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="督查台账 CSV（UTF-8 带 BOM，附件）"),
            400: OpenApiResponse(LedgerExportErrorSerializer, description="参数有误（筛选条件或 format），fields 指明字段"),
        },
        filters=True,
        tags=["items"],
    )
    def get(self, request):
        file_format = request.query_params.get("format")
        if not file_format and isinstance(getattr(request, "accepted_renderer", None), (XlsxRenderer, CsvRenderer)):
            file_format = request.accepted_renderer.format
        export = ledger_export(actor=request.user, params=request.query_params, file_format=file_format)
        if export.file_format == XLSX:
            response = FileResponse(export.body, content_type=XLSX_CONTENT_TYPE)
        else:
            response = StreamingHttpResponse(export.body, content_type=CSV_CONTENT_TYPE)
        return ledger_file_response(
            response, filename=export.filename, ascii_filename=export.ascii_filename, rows=export.rows, omitted=export.omitted
        )


class ExportApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """涉密导出审批: office staff grant and revoke; everyone else sees their own approvals."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.ExportApprovalSerializer
    filterset_class = ExportApprovalFilterSet
    queryset = ExportApproval.objects.none()  # for the schema; reads go through visible_to

    def get_queryset(self):
        return ExportApproval.objects.visible_to(self.request.user).select_related("grantee", "approved_by", "revoked_by")

    @extend_schema(
        request=s.ExportApprovalInput,
        responses={201: s.ExportApprovalSerializer},
        summary="批准涉密事项导出",
        description=_(
            "督查室工作人员批准某人在有效期内导出不高于所批密级（秘密或机密）的事项明细。批准人的密级权限须不低于所批密级，"
            "所批密级不高于被批准人的密级权限；不能批准本人。记入审计链。"
        ),
    )
    def create(self, request):
        data = parse(s.ExportApprovalInput, request)
        approval = services.export_approval_grant(actor=request.user, **data)
        return Response(s.ExportApprovalSerializer(self.get_queryset().get(pk=approval.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExportApprovalRevokeInput, responses=s.ExportApprovalSerializer, summary="撤销涉密导出审批")
    @action(detail=True, methods=["post"], filterset_class=None)
    def revoke(self, request, pk=None):
        approval = self.get_object()
        data = parse(s.ExportApprovalRevokeInput, request)
        services.export_approval_revoke(actor=request.user, approval=approval, reason=data["reason"])
        return Response(s.ExportApprovalSerializer(self.get_queryset().get(pk=approval.pk)).data)


class ExportJobViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """台账导出任务: the ledger export written in the background, for files too big to wait for."""

    integration_operation = IntegrationOperation.READ_LEDGER
    lookup_value_regex = r"[0-9]+"
    serializer_class = s.ExportJobSerializer
    queryset = ExportJob.objects.none()  # for the schema; reads go through export_jobs

    def get_queryset(self):
        return export_jobs.export_job_list(actor=self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # Every answer is JSON, errors included; the download is a file response, which no renderer
        # touches, so an Accept header naming the file's type (or a stray `format`) is neither a 406
        # nor a 404.
        return JSONRenderer(), JSONRenderer.media_type

    def get_object(self):
        return export_jobs.export_job_get(actor=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        request=s.ExportJobInput,
        responses={
            202: s.ExportJobSerializer,
            429: OpenApiResponse(description="超出每人导出任务配额（DUBAN_EXPORT_JOB_QUOTA）；Retry-After 给出秒数"),
        },
        summary="后台导出督查台账",
        description=_(
            "与 GET /api/v1/items/export/ 相同的规则与列，在后台生成文件，适合整本台账等大量数据（88 万行的 .xlsx 约需 3 分钟，系统繁忙时更久）。"
            "筛选条件有误时立即返回 400；任务运行时按当时的可见范围与涉密导出审批生成文件，并记入审计链（含文件 SHA-256）。"
            "只有申请人能查看任务和下载文件；文件在生成 24 小时后删除。"
        ),
        tags=["items"],
    )
    def create(self, request):
        data = parse(s.ExportJobInput, request)
        job = export_jobs.export_job_create(actor=request.user, filters=data["filters"], file_format=data["format"])
        return Response(
            s.ExportJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("export-job-detail", args=[job.pk])},
        )

    @extend_schema(responses=s.ExportJobSerializer, summary="导出任务状态", tags=["items"])
    def retrieve(self, request, pk=None):
        return Response(s.ExportJobSerializer(self.get_object()).data)

    @extend_schema(
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="督查台账 Excel 工作簿（附件）"),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="督查台账 CSV（附件）"),
        },
        summary="下载导出文件",
        tags=["items"],
    )
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request, pk=None):
        job = self.get_object()
        handle = export_jobs.export_job_file(actor=request.user, job=job)
        response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE if job.file_format == XLSX else CSV_CONTENT_TYPE)
        return ledger_file_response(
            response,
            filename=job.filename,
            ascii_filename=f"duban-ledger-job-{job.pk}.{job.file_format}",
            rows=job.rows or 0,
            omitted=job.omitted or 0,
        )
