"""Thin views: parse with an input serializer, call one service or selector, render the result."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
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
from supervision.api.serializers.comments import LeaderCommentInput, LeaderCommentSerializer
from supervision.errors import NotVisible
from supervision.filtersets import InstructionFilterSet, ItemFilterSet, ItemRequestFilterSet
from supervision.models import Attachment, Category


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """督办分类 (read-only; edited in the admin)."""

    integration_operation = IntegrationOperation.READ_LEDGER
    lookup_value_regex = r"[0-9]+"
    queryset = Category.objects.filter(is_active=True)
    serializer_class = s.CategorySerializer
    pagination_class = None


class LeaderCommentsMixin:
    """领导批示、点评 on one record (items/{id}/comments/, instructions/{id}/comments/): the same
    action for both, since a comment hangs on either an item or an instruction (LeaderComment)."""

    comment_target: str  # the keyword selectors.comment_list and services.comment_create take it by

    @extend_schema(methods=["get"], responses=LeaderCommentSerializer(many=True), summary="领导批示、点评")
    @extend_schema(methods=["post"], request=LeaderCommentInput, responses={201: LeaderCommentSerializer}, summary="批示、点评")
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def comments(self, request, pk=None):
        target = {self.comment_target: self.get_object()}
        if request.method == "GET":
            page = self.paginate_queryset(selectors.comment_list(user=request.user, **target))
            return self.get_paginated_response(LeaderCommentSerializer(page, many=True).data)
        data = parse(LeaderCommentInput, request)
        comment = services.comment_create(actor=request.user, text=data["text"], **target)
        comment = selectors.comment_get(user=request.user, pk=comment.pk)
        return Response(LeaderCommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class InstructionViewSet(LeaderCommentsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """批示件. Office staff register and edit them; everyone else sees those behind their items."""

    integration_operation = IntegrationOperation.READ_LEDGER
    integration_read_only = True

    lookup_value_regex = r"[0-9]+"
    comment_target = "instruction"

    serializer_class = s.InstructionSerializer
    filterset_class = InstructionFilterSet

    def get_queryset(self):
        return selectors.instruction_list(user=self.request.user)

    def retrieve(self, request, *args, **kwargs):
        instruction = self.get_object()
        return Response(s.InstructionSerializer(instruction).data, headers={"ETag": instruction.etag})

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
        return Response(s.InstructionSerializer(instruction).data, status=code, headers={"ETag": instruction.etag})


class ItemViewSet(LeaderCommentsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """督办事项 and every transition on them. An item the user may not see is a 404 everywhere."""

    integration_operation = IntegrationOperation.READ_LEDGER
    integration_read_only = True

    lookup_value_regex = r"[0-9]+"
    comment_target = "item"

    serializer_class = s.ItemSerializer
    filterset_class = ItemFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.item_list(user=self.request.user)

    def get_object(self):
        return selectors.item_get(user=self.request.user, pk=self.kwargs["pk"])

    def _render(self, item, code=status.HTTP_200_OK):
        item = selectors.item_get(user=self.request.user, pk=item.pk)
        return Response(s.ItemDetailSerializer(item).data, status=code, headers={"ETag": item.etag})

    def _transition(self, request, service, serializer_class, field):
        """One status transition (交办, 审批, 退回, 签收, 恢复办理): the item first (404 before 400), then
        its input and the version the client saw (If-Match, 412), one service, the item re-read."""
        item = self.get_object()
        data = parse(serializer_class, request)
        service(actor=request.user, item=item, expected_version=expected_version(request, data), **{field: data[field]})
        return self._render(item)

    @extend_schema(responses=s.ItemDetailSerializer)
    def retrieve(self, request, pk=None):
        item = self.get_object()
        return Response(s.ItemDetailSerializer(item).data, headers={"ETag": item.etag})

    @extend_schema(
        request=s.ItemInput,
        responses={
            201: s.ItemDetailSerializer,
            409: OpenApiResponse(
                description="possible_duplicate：台账中已有疑似同一事项。错误体另含 candidates（与 "
                "POST /items/duplicate-check/ 返回的 candidates 相同：id、code、title、status、lead_unit、score、reasons、reason）；"
                "确认不是重复的，带 confirm_not_duplicate=true 重新提交",
            ),
        },
        description="分解立项。登记前在同一牵头单位的在办事项（及近期销号事项）中查重（减负：不重复督办同一事项）。",
    )
    def create(self, request):
        data = parse(s.ItemInput, request)
        data.pop("version", None)
        item = services.item_register(actor=request.user, **data)
        return self._render(item, status.HTTP_201_CREATED)

    @extend_schema(request=s.ItemUpdateInput, responses=s.ItemDetailSerializer, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        item = self.get_object()
        data = parse(s.ItemUpdateInput, request, partial=True)
        version = expected_version(request, data)
        data.pop("version", None)
        supporting = data.pop("supporting_units", None)
        item = services.item_update(actor=request.user, item=item, expected_version=version, supporting_units=supporting, **data)
        return self._render(item)

    @extend_schema(request=s.CommentInput, responses=s.ItemDetailSerializer, parameters=[IF_MATCH], summary="交办")
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        return self._transition(request, services.item_assign, s.CommentInput, "comment")

    @extend_schema(
        request=s.CommentInput,
        responses={
            200: s.ItemDetailSerializer,
            403: OpenApiResponse(description="只有督查室主任可以审批交办（office_director_only）"),
            409: OpenApiResponse(description="事项不在待主任审批状态"),
        },
        parameters=[IF_MATCH],
        summary="督查室主任批准交办",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, services.item_approve, s.CommentInput, "comment")

    @extend_schema(
        request=s.ReturnInput,
        responses={
            200: s.ItemDetailSerializer,
            403: OpenApiResponse(description="只有督查室主任可以退回（office_director_only）"),
            409: OpenApiResponse(description="事项不在待主任审批状态"),
        },
        parameters=[IF_MATCH],
        summary="督查室主任退回事项（回到草稿）",
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk=None):
        return self._transition(request, services.item_approval_return, s.ReturnInput, "reason")

    @extend_schema(request=s.CommentInput, responses=s.ItemDetailSerializer, parameters=[IF_MATCH], summary="签收")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, services.item_acknowledge, s.CommentInput, "comment")

    @extend_schema(
        request=s.CommentInput, responses=s.ItemDetailSerializer, parameters=[IF_MATCH], summary="恢复办理（结束暂停）"
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._transition(request, services.item_resume, s.CommentInput, "comment")

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
            return self._page(selectors.referral_list(user=request.user, item=item), s.ReferralSerializer)
        data = parse(s.ReferralInput, request)
        referral = services.referral_create(actor=request.user, item=item, **data)
        return Response(s.ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReportAccessInput, responses=s.ItemDetailSerializer, summary="允许或禁止配合单位查看其他单位的反馈")
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
        return self._page(selectors.audit_history(user=request.user, item=item), s.AuditEventSerializer)

    def _page(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class ItemRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests across the ledger. A unit's approver signs them first (?status=awaiting_endorsement:
    their own unit's); the office's queue (?status=pending) holds only what the unit signed."""

    lookup_value_regex = r"[0-9]+"

    serializer_class = s.ItemRequestSerializer
    filterset_class = ItemRequestFilterSet

    def get_queryset(self):
        return selectors.request_list(user=self.request.user)

    def _render(self, pk, *, unsigned=False):
        # Re-read through the visibility-scoped list. What the unit's approver has just signed or sent
        # back may not have reached the office (a returned request never does): the unsigned list.
        return Response(
            s.ItemRequestSerializer(selectors.request_list(user=self.request.user, unsigned=unsigned).get(pk=pk)).data
        )

    def _unsigned_target(self):
        """The office may address a request the unit has not signed yet, to be told 409 (not 404)."""
        item_request = selectors.request_list(user=self.request.user, unsigned=True).filter(pk=self.kwargs["pk"]).first()
        if item_request is None:
            raise NotVisible()
        return item_request

    @extend_schema(
        request=s.DecisionInput,
        responses={
            200: s.ItemRequestSerializer,
            403: OpenApiResponse(description="只有督查室工作人员可以审批（office_only）"),
            409: OpenApiResponse(description="申请尚待单位负责人签字（request_not_endorsed），或已处理（request_decided）"),
        },
        parameters=[IF_MATCH],
        summary="督查室审批申请",
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        item_request = self._unsigned_target()
        data = parse(s.DecisionInput, request)
        services.item_request_decide(
            actor=request.user,
            request=item_request,
            approve=data["approve"],
            comment=data["comment"],
            expected_version=expected_version(request, data),
        )
        return self._render(item_request.pk)

    @extend_schema(
        request=s.CommentInput,
        responses={
            200: s.ItemRequestSerializer,
            403: OpenApiResponse(description="只有本单位负责人或指定的签字人可以签字（unit_approver_only）"),
            404: OpenApiResponse(description="申请不存在或对您不可见（其他单位的申请）"),
            409: OpenApiResponse(description="申请不在待单位签字环节"),
        },
        summary="单位负责人签字（报督查室）",
    )
    @action(detail=True, methods=["post"])
    def endorse(self, request, pk=None):
        data = parse(s.CommentInput, request)
        services.item_request_endorse(actor=request.user, request=self._unsigned_target(), comment=data["comment"])
        return self._render(pk, unsigned=True)

    @extend_schema(
        request=s.ReturnInput,
        responses={
            200: s.ItemRequestSerializer,
            403: OpenApiResponse(description="只有本单位负责人或指定的签字人可以退回（unit_approver_only）"),
            404: OpenApiResponse(description="申请不存在或对您不可见（其他单位的申请）"),
            409: OpenApiResponse(description="申请不在待单位签字环节"),
        },
        summary="单位负责人退回申请",
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk=None):
        data = parse(s.ReturnInput, request)
        services.item_request_return(actor=request.user, request=self._unsigned_target(), reason=data["reason"])
        return self._render(pk, unsigned=True)

    @extend_schema(responses=s.SignoffDurationSerializer(many=True), summary="各单位签字、审批环节用时（中位数，小时）")
    @action(detail=False, methods=["get"], url_path="stage-durations", filterset_class=None, pagination_class=None)
    def stage_durations(self, request):
        return Response(s.SignoffDurationSerializer(selectors.signoff_stage_durations(user=request.user), many=True).data)

    @extend_schema(request=None, responses=s.ItemRequestSerializer, summary="撤回申请")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        item_request = self.get_object()
        services.item_request_withdraw(actor=request.user, request=item_request)
        return self._render(item_request.pk)


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
