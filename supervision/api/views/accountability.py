"""Overdue explanations (超期说明 → 免责 / 问责) and notices (通报) over the API. Thin views: parse,
call one service, re-read through the visibility-scoped selector, render."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from supervision import selectors, services
from supervision.api.downloads import as_attachment, evidence_file_response
from supervision.api.inputs import parse
from supervision.api.serializers import accountability as s
from supervision.api.serializers import ledger as ledger_inputs
from supervision.errors import NotVisible
from supervision.exchange.documents import notice_docx
from supervision.filtersets import NoticeFilterSet, OverdueExplanationFilterSet
from supervision.models import Notice, OverdueExplanation

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class OverdueExplanationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """超期说明: the unit that owes one files it; the office rules exemption or accountability."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.OverdueExplanationSerializer
    filterset_class = OverdueExplanationFilterSet
    queryset = OverdueExplanation.objects.none()  # for the schema; reads go through the selectors

    def get_queryset(self):
        return selectors.explanation_list(user=self.request.user)

    def _target(self) -> OverdueExplanation:
        """For a write the service decides: 404 if the item is invisible, 403 if visible but the
        explanation is not the actor's to file or rule (a supporting unit may know the lead unit
        owes one: every responsible unit of an overdue item does)."""
        explanation = OverdueExplanation.objects.select_related("item").filter(pk=self.kwargs["pk"]).first()
        if explanation is None:
            raise NotVisible()
        return explanation

    def _render(self, explanation):
        # The actor may file an explanation and still read it: same unit. The office reads all.
        return Response(s.OverdueExplanationSerializer(selectors.explanation_get(user=self.request.user, pk=explanation.pk)).data)

    @extend_schema(request=s.ExplanationSubmitInput, responses=s.OverdueExplanationSerializer, summary="提交超期说明")
    @action(detail=True, methods=["post"], filterset_class=None)
    def submit(self, request, pk=None):
        data = parse(s.ExplanationSubmitInput, request)
        explanation = services.overdue_explanation_submit(actor=request.user, explanation=self._target(), **data)
        return self._render(explanation)

    @extend_schema(
        request=ledger_inputs.CommentInput,
        responses={
            200: s.OverdueExplanationSerializer,
            403: OpenApiResponse(description="只有本单位负责人或指定的签字人可以签字（unit_approver_only）"),
            404: OpenApiResponse(description="超期说明不存在或对您不可见（其他单位的说明）"),
            409: OpenApiResponse(description="超期说明不在待单位签字环节"),
        },
        summary="单位负责人签字超期说明（报督查室）",
    )
    @action(detail=True, methods=["post"])
    def endorse(self, request, pk=None):
        data = parse(ledger_inputs.CommentInput, request)
        explanation = services.overdue_explanation_endorse(
            actor=request.user, explanation=self._target(), comment=data["comment"]
        )
        return self._render(explanation)

    @extend_schema(
        request=ledger_inputs.ReturnInput,
        responses={
            200: s.OverdueExplanationSerializer,
            403: OpenApiResponse(description="只有本单位负责人或指定的签字人可以退回（unit_approver_only）"),
            404: OpenApiResponse(description="超期说明不存在或对您不可见（其他单位的说明）"),
            409: OpenApiResponse(description="超期说明不在待单位签字环节"),
        },
        summary="单位负责人退回超期说明（重新说明）",
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk=None):
        data = parse(ledger_inputs.ReturnInput, request)
        explanation = services.overdue_explanation_return(actor=request.user, explanation=self._target(), reason=data["reason"])
        return self._render(explanation)

    @extend_schema(
        request=s.ExplanationRuleInput,
        responses={
            200: s.OverdueExplanationSerializer,
            409: OpenApiResponse(description="尚待单位负责人签字（explanation_not_endorsed）、说明期限未到或已认定"),
        },
        summary="认定免责或问责",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def rule(self, request, pk=None):
        # Only an explanation the user may read can be ruled on: any other id is a 404, exactly as
        # an absent one (a 403 would confirm that it exists).
        target = selectors.explanation_get(user=request.user, pk=self.kwargs["pk"])
        data = parse(s.ExplanationRuleInput, request)
        explanation = services.overdue_explanation_rule(
            actor=request.user,
            explanation=target,
            ruling=data["ruling"],
            comment=data["comment"],
            departments=data.get("departments"),
        )
        return self._render(explanation)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="下载超期说明附件")
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        url_name="attachment",
        filterset_class=None,
        pagination_class=None,
    )
    def attachment(self, request, pk=None, attachment_id=None):
        attachment = selectors.explanation_attachment_get(user=request.user, explanation_pk=pk, attachment_pk=attachment_id)
        return evidence_file_response(attachment)


class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """通报: drafted and edited by the office, issued with a number, downloadable as .docx."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.NoticeSerializer
    filterset_class = NoticeFilterSet
    queryset = Notice.objects.none()  # for the schema; reads go through the selectors
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.notice_list(user=self.request.user)

    def get_object(self):
        return selectors.notice_get(user=self.request.user, pk=self.kwargs["pk"])

    def _render(self, notice, code=status.HTTP_200_OK):
        notice = selectors.notice_get(user=self.request.user, pk=notice.pk)
        return Response(s.NoticeSerializer(notice).data, status=code)

    @extend_schema(request=s.NoticeInput, responses={201: s.NoticeSerializer}, summary="起草通报")
    def create(self, request):
        data = parse(s.NoticeInput, request)
        notice = services.notice_create(actor=request.user, **data)
        return self._render(notice, status.HTTP_201_CREATED)

    @extend_schema(request=s.NoticeUpdateInput, responses=s.NoticeSerializer, summary="修改通报草稿")
    def partial_update(self, request, pk=None):
        notice = self.get_object()
        data = parse(s.NoticeUpdateInput, request, partial=True)
        notice = services.notice_update(actor=request.user, notice=notice, **data)
        return self._render(notice)

    @extend_schema(request=None, responses=s.NoticeSerializer, summary="印发通报（编号）")
    @action(detail=True, methods=["post"], filterset_class=None)
    def issue(self, request, pk=None):
        notice = services.notice_issue(actor=request.user, notice=self.get_object())
        return self._render(notice)

    @extend_schema(
        responses={(200, DOCX): OpenApiResponse(OpenApiTypes.BINARY, description="通报 Word 文档")},
        summary="下载通报（.docx）",
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def docx(self, request, pk=None):
        notice = self.get_object()
        # Only the rows this reader may see are printed (DOMAIN.md rule 13).
        content = notice_docx(notice, entries=notice.visible_entries)
        name = f"{notice.number or '通报草稿-' + str(notice.pk)} {notice.title}"[:120].replace("/", "-") + ".docx"
        return as_attachment(HttpResponse(content, content_type=DOCX), filename=name, ascii_filename=f"notice-{notice.pk}.docx")
