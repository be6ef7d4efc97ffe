"""Reports as files (/api/v1/stats/…-workbook/): parse nothing here but the route; the domain
module builds the file over the same scope as the stats endpoints and records the export."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from supervision import stats
from supervision.api.downloads import FileErrorsAsJsonMixin, XlsxRenderer, as_attachment
from supervision.api.serializers import stats as s
from supervision.api.views.stats import NO_ORDERING
from supervision.exchange.export import XLSX_CONTENT_TYPE
from supervision.filtersets import ItemFilterSet
from supervision.models import Item
from supervision.stats.quarterly import quarterly_review_export


class LenientFormatNegotiation(DefaultContentNegotiation):
    """`?format=xlsx` or `?format=json` pick the renderer; an unknown format is ignored rather than a
    404 (this view answers with the file whatever is asked, and with JSON for an error)."""

    def filter_renderers(self, renderers, format):
        return [r for r in renderers if r.format == format] or renderers


class QuarterlyWorkbookQueryInput(s.RankingQueryInput):
    """Documents the query (the checks themselves are in supervision.stats.quarterly)."""

    quarter = serializers.RegexField(
        r"^\d{4}[Qq][1-4]$",
        required=False,
        help_text=_("盘点季度，如 2026Q3（必填，除非同时给出 period_start 和 period_end）"),
    )


class QuarterlyWorkbookView(FileErrorsAsJsonMixin, GenericAPIView):
    """季度盘点 workbook for the signed-in user (session or token)."""

    queryset = Item.objects.none()  # for the schema's filter parameters; reads go through supervision.stats
    filterset_class = ItemFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = None
    renderer_classes = [JSONRenderer, XlsxRenderer]
    content_negotiation_class = LenientFormatNegotiation

    @extend_schema(
        summary="下载季度盘点工作簿（.xlsx）",
        description="季度盘点（DOMAIN.md 第 15 条“每季度 … 盘点分析”）：汇总、单位排名、按来源、按领导、月度趋势、超期清单、"
        "超期说明及认定七张工作表，附图表，按 A4 横向排版。数字与 /api/v1/stats/ 各接口对同一用户、同一季度和筛选条件给出的相同。"
        "涉密（秘密、机密）事项的明细行须经批准才导出，未列出的在表下注明条数；汇总数字仍包含这些事项。每次导出记入审计链。\n\n"
        + stats.describe("scope", "period", "null_rates"),
        parameters=[QuarterlyWorkbookQueryInput, NO_ORDERING],
        # The error responses (400 with the field, 401, 403) are added in the one error shape by the
        # project's schema class, as for every operation.
        responses={(200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="季度盘点 Excel 工作簿（附件）")},
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        review = quarterly_review_export(actor=request.user, params=request.query_params)
        response = HttpResponse(review.content, content_type=XLSX_CONTENT_TYPE)
        as_attachment(response, filename=review.filename, ascii_filename=review.ascii_filename)
        response["Cache-Control"] = "no-store"
        return response
