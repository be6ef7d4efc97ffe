"""Thin views: parse with an input serializer, call one service or selector, render the result."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.choices import IntegrationOperation
from supervision import selectors, services
from supervision.api.downloads import evidence_file_response
from supervision.api.inputs import IF_MATCH, expected_version, parse
from supervision.api.parsers import TextSafeJSONParser
from supervision.api.serializers import ledger as s
from supervision.filtersets import InstructionFilterSet, ItemFilterSet, ItemRequestFilterSet
from supervision.models import Attachment, Category


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """督办分类 (read-only; edited in the admin)."""

    integration_operation = IntegrationOperation.READ_LEDGER
    lookup_value_regex = r"[0-9]+"
    queryset = Category.objects.filter(is_active=True)
    serializer_class = s.CategorySerializer
    pagination_class = None


class InstructionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """批示件. Office staff register and edit them; everyone else sees those behind their items."""

    integration_operation = IntegrationOperation.READ_LEDGER
    integration_read_only = True

    lookup_value_regex = r"[0-9]+"

    serializer_class = s.InstructionSerializer
    filterset_class = InstructionFilterSet

    def get_queryset(self):
        return selectors.instruction_list(user=self.request.user)

    def retrieve(self, request, *args, **kwargs):
        instruction = self.get_object()
        return Response(s.InstructionSerializer(instruction).data, headers={"ETag": f'"{instruction.pk}-{instruction.version}"'})

    @extend_schema(request=s.InstructionInput, responses={201: s.InstructionSerializer})
    def create(self, request):
        data = parse(s.InstructionInput, request)
        data.pop("version", None)
        instruction = services.instruction_create(actor=request.user, **data)
        return self._render(instruction, status.HTTP_201_CREATED)

    @extend_schema(request=s.InstructionInput, responses=s.InstructionSerializer, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        instruction = self.get_object()
        data = parse(s.InstructionInput, request, partial=True)
        version = expected_version(request, data)
        data.pop("version", None)
        data.pop("attachment_ids", None)
        instruction = services.instruction_update(actor=request.user, instruction=instruction, expected_version=version, **data)
        return self._render(instruction)

    def _render(self, instruction, code=status.HTTP_200_OK):
        instruction = self.get_queryset().get(pk=instruction.pk)
        return Response(
            s.InstructionSerializer(instruction).data, status=code, headers={"ETag": f'"{instruction.pk}-{instruction.version}"'}
        )


class ItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """督办事项 and every transition on them. An item the user may not see is a 404 everywhere."""

    integration_operation = IntegrationOperation.READ_LEDGER
    integration_read_only = True

    lookup_value_regex = r"[0-9]+"

    serializer_class = s.ItemSerializer
    filterset_class = ItemFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.item_list(user=self.request.user)

    def get_object(self):
        return selectors.item_get(user=self.request.user, pk=self.kwargs["pk"])

    def _render(self, item, code=status.HTTP_200_OK):
        item = selectors.item_get(user=self.request.user, pk=item.pk)
        return Response(s.ItemSerializer(item).data, status=code, headers={"ETag": item.etag})

    def retrieve(self, request, pk=None):
        item = self.get_object()
        return Response(s.ItemSerializer(item).data, headers={"ETag": item.etag})

    @extend_schema(request=s.ItemInput, responses={201: s.ItemSerializer})
    def create(self, request):
        data = parse(s.ItemInput, request)
        data.pop("version", None)
        item = services.item_create(actor=request.user, **data)
        return self._render(item, status.HTTP_201_CREATED)

    @extend_schema(request=s.ItemUpdateInput, responses=s.ItemSerializer, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        item = self.get_object()
        data = parse(s.ItemUpdateInput, request, partial=True)
        version = expected_version(request, data)
        data.pop("version", None)
        supporting = data.pop("supporting_units", None)
        item = services.item_update(actor=request.user, item=item, expected_version=version, supporting_units=supporting, **data)
        return self._render(item)

    @extend_schema(request=s.CommentInput, responses=s.ItemSerializer, parameters=[IF_MATCH], summary="交办")
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        item = self.get_object()
        data = parse(s.CommentInput, request)
        services.item_assign(
            actor=request.user, item=item, expected_version=expected_version(request, data), comment=data["comment"]
        )
        return self._render(item)

    @extend_schema(request=s.CommentInput, responses=s.ItemSerializer, parameters=[IF_MATCH], summary="签收")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        item = self.get_object()
        data = parse(s.CommentInput, request)
        services.item_acknowledge(
            actor=request.user, item=item, expected_version=expected_version(request, data), comment=data["comment"]
        )
        return self._render(item)

    @extend_schema(request=s.CommentInput, responses=s.ItemSerializer, parameters=[IF_MATCH], summary="恢复办理（结束暂停）")
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        item = self.get_object()
        data = parse(s.CommentInput, request)
        services.item_resume(
            actor=request.user, item=item, expected_version=expected_version(request, data), comment=data["comment"]
        )
        return self._render(item)

    @extend_schema(methods=["get"], responses=s.ProgressReportSerializer(many=True), summary="进展反馈列表")
    @extend_schema(
        methods=["post"], request=s.ProgressReportInput, responses={201: s.ProgressReportSerializer}, summary="反馈进展"
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def reports(self, request, pk=None):
        item = self.get_object()
        if request.method == "GET":
            return self._page(selectors.report_list(user=request.user, item=item), s.ProgressReportSerializer)
        data = parse(s.ProgressReportInput, request)
        report = services.progress_report_create(actor=request.user, item=item, **data)
        report = selectors.report_list(user=request.user, item=item).get(pk=report.pk)
        return Response(s.ProgressReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.ItemRequestSerializer(many=True), summary="申请列表")
    @extend_schema(
        methods=["post"],
        request=s.ItemRequestInput,
        responses={201: s.ItemRequestSerializer},
        parameters=[IF_MATCH],
        summary="提出延期、办结、暂停或撤销申请",
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def requests(self, request, pk=None):
        item = self.get_object()
        if request.method == "GET":
            return self._page(selectors.request_list(user=request.user).filter(item=item), s.ItemRequestSerializer)
        data = parse(s.ItemRequestInput, request)
        version = expected_version(request, data)
        data.pop("version", None)
        item_request = services.item_request_create(actor=request.user, item=item, expected_version=version, **data)
        item_request = selectors.request_list(user=request.user).get(pk=item_request.pk)
        return Response(s.ItemRequestSerializer(item_request).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.ReturnVisitSerializer(many=True), summary="回访复核记录")
    @extend_schema(
        methods=["post"],
        request=s.ReturnVisitInput,
        responses={201: s.ReturnVisitSerializer},
        parameters=[IF_MATCH],
        summary="回访复核",
    )
    @action(detail=True, methods=["get", "post"], url_path="return-visits", filterset_class=None)
    def return_visits(self, request, pk=None):
        item = self.get_object()
        if request.method == "GET":
            return self._page(selectors.return_visit_list(item=item), s.ReturnVisitSerializer)
        data = parse(s.ReturnVisitInput, request)
        version = expected_version(request, data)
        data.pop("version", None)
        visit = services.return_visit_create(actor=request.user, item=item, expected_version=version, **data)
        return Response(s.ReturnVisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=s.ReferralSerializer(many=True), summary="移交记录")
    @extend_schema(methods=["post"], request=s.ReferralInput, responses={201: s.ReferralSerializer}, summary="移交纪检、组织部门")
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def referrals(self, request, pk=None):
        item = self.get_object()
        if request.method == "GET":
            return self._page(selectors.referral_list(item=item), s.ReferralSerializer)
        data = parse(s.ReferralInput, request)
        referral = services.referral_create(actor=request.user, item=item, **data)
        return Response(s.ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReportAccessInput, responses=s.ItemSerializer, summary="允许或禁止配合单位查看其他单位的反馈")
    @action(detail=True, methods=["post"], url_path="report-access")
    def report_access(self, request, pk=None):
        item = self.get_object()
        data = parse(s.ReportAccessInput, request)
        services.assignment_set_report_access(actor=request.user, item=item, **data)
        return self._render(item)

    @extend_schema(responses=s.AuditEventSerializer(many=True), summary="办理记录（审计）")
    @action(detail=True, methods=["get"], filterset_class=None)
    def history(self, request, pk=None):
        item = self.get_object()
        return self._page(selectors.audit_history(item=item), s.AuditEventSerializer)

    def _page(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class ItemRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests across the ledger: the office's approval queue (?status=pending)."""

    lookup_value_regex = r"[0-9]+"

    serializer_class = s.ItemRequestSerializer
    filterset_class = ItemRequestFilterSet

    def get_queryset(self):
        return selectors.request_list(user=self.request.user)

    @extend_schema(request=s.DecisionInput, responses=s.ItemRequestSerializer, parameters=[IF_MATCH], summary="审批申请")
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        item_request = self.get_object()
        data = parse(s.DecisionInput, request)
        services.item_request_decide(
            actor=request.user,
            request=item_request,
            approve=data["approve"],
            comment=data["comment"],
            expected_version=expected_version(request, data),
        )
        return Response(s.ItemRequestSerializer(self.get_queryset().get(pk=item_request.pk)).data)

    @extend_schema(request=None, responses=s.ItemRequestSerializer, summary="撤回申请")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        item_request = self.get_object()
        services.item_request_withdraw(actor=request.user, request=item_request)
        return Response(s.ItemRequestSerializer(self.get_queryset().get(pk=item_request.pk)).data)


class AttachmentViewSet(viewsets.GenericViewSet):
    """Upload a file first, then name its id in a report, request or instruction."""

    parser_classes = [MultiPartParser, FormParser, TextSafeJSONParser]
    serializer_class = s.AttachmentSerializer
    queryset = Attachment.objects.none()  # for the schema; reads go through selectors.attachment_get
    lookup_value_regex = r"[0-9]+"

    @extend_schema(request={"multipart/form-data": s.AttachmentUploadInput}, responses={201: s.AttachmentSerializer})
    def create(self, request):
        data = parse(s.AttachmentUploadInput, request)
        attachment = services.attachment_upload(actor=request.user, uploaded_file=data["file"])
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.AttachmentSerializer)
    def retrieve(self, request, pk=None):
        return Response(s.AttachmentSerializer(selectors.attachment_get(user=request.user, pk=pk)).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        attachment = selectors.attachment_get(user=request.user, pk=pk)
        return evidence_file_response(attachment)
