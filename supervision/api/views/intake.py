"""OA intake endpoint: POST an instruction with its items under the OA system's own ids, GET it
back by that id to follow its items. The rules are in supervision/intake.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from accounts.choices import IntegrationOperation
from accounts.models import IntegrationClient
from supervision.api.serializers import intake as s
from supervision.exchange import intake

_ERROR = OpenApiResponse(description="错误：{code, detail, fields}")

_EXAMPLE = {
    "external_id": "OA-2026-0815",
    "title": "关于加快推进城区污水管网改造的批示",
    "kind": "leader_instruction",
    "nature": "actionable",
    "issuing_leader": "张建国",
    "document_number": "县委办〔2026〕15号",
    "issued_on": "2026-08-15",
    "text": "请住建局牵头，环保局配合，9月底前拿出改造方案。",
    "classification": 0,
    "items": [
        {
            "external_id": "OA-2026-0815-1",
            "title": "拿出城区污水管网改造方案",
            "lead_unit": "县住房和城乡建设局",
            "supporting_units": ["县生态环境局"],
            "owner": "罗艳",
            "deadline_workdays": 20,
            "urgency": "urgent",
            "assign": True,
        }
    ],
}


class IntakeInstructionViewSet(viewsets.GenericViewSet):
    """OA 推送批示件. API keys need the "intake" operation; office staff may call it with a token."""

    integration_operation = IntegrationOperation.INTAKE
    lookup_field = "external_id"
    lookup_value_regex = r"[^/]+"
    serializer_class = s.IntakeRecordSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="推送批示件及其督办事项（按 external_id 幂等）",
        description=(
            "首次推送返回 201；以同一 external_id 重发相同内容返回 200 和同一记录，不重复创建；"
            "同一 external_id 内容不同返回 409 `external_id_conflict`。内容有误返回 400，`fields` 列出全部问题"
            "（如 `items[2].lead_unit`），不保存任何内容。单位、责任人、批示领导和类别可用 ID 或名称指定。"
        ),
        request=s.IntakeInstructionInput,
        responses={
            201: s.IntakeRecordSerializer,
            200: OpenApiResponse(s.IntakeRecordSerializer, description="同一 external_id、相同内容的重发：返回已有记录"),
            400: _ERROR,
            403: _ERROR,
            409: OpenApiResponse(description="external_id 已用于内容不同的批示件（external_id_conflict）"),
        },
        examples=[OpenApiExample("推送一件批示及一个即时交办的事项", value=_EXAMPLE, request_only=True)],
    )
    def create(self, request):
        client = request.auth if isinstance(request.auth, IntegrationClient) else None
        outcome = intake.instruction_intake(actor=request.user, client=client, payload=s.parse_intake(request.data))
        view = intake.intake_record_get(user=request.user, external_id=outcome.record.external_id)
        return Response(
            s.IntakeRecordSerializer(view).data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )

    @extend_schema(
        summary="按 external_id 查询推送结果及事项的台账编号、状态", responses={200: s.IntakeRecordSerializer, 404: _ERROR}
    )
    def retrieve(self, request, external_id=None):
        return Response(s.IntakeRecordSerializer(intake.intake_record_get(user=request.user, external_id=external_id)).data)
