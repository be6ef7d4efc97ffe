"""督办通知单 over the API: the office issues it (POST, numbered once), readers download the .docx
(GET), listing only the items each reader may see."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from supervision import selectors, services
from supervision.api.downloads import as_attachment
from supervision.errors import NotVisible
from supervision.exchange.documents import assignment_sheet_docx
from supervision.models import AssignmentSheet, Instruction

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class AssignmentSheetSerializer(serializers.ModelSerializer):
    instruction_id = serializers.IntegerField(read_only=True)
    issued_by = serializers.CharField(source="issued_by.full_name", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentSheet
        fields = ["id", "instruction_id", "number", "issued_by", "issued_at", "download_url"]

    def get_download_url(self, sheet) -> str:
        return reverse("instruction-assignment-sheet", args=[sheet.instruction_id])


class AssignmentSheetView(APIView):
    def _instruction(self, request, pk) -> Instruction:
        instruction = selectors.instruction_list(user=request.user).filter(pk=pk).first()
        if instruction is None:
            raise NotVisible()
        return instruction

    @extend_schema(
        responses={(200, DOCX): OpenApiResponse(OpenApiTypes.BINARY, description="督办通知单 Word 文档")},
        summary="下载督办通知单（.docx）",
    )
    def get(self, request, pk: int):
        instruction = self._instruction(request, pk)
        sheet = selectors.assignment_sheet_get(user=request.user, instruction=instruction)
        items = selectors.assignment_sheet_items(user=request.user, instruction=instruction)
        content = assignment_sheet_docx(sheet, items)
        name = f"{sheet.number} 督办通知单 {instruction.title}"[:120].replace("/", "-") + ".docx"
        return as_attachment(
            HttpResponse(content, content_type=DOCX), filename=name, ascii_filename=f"assignment-sheet-{instruction.pk}.docx"
        )

    @extend_schema(
        request=None,
        responses={201: AssignmentSheetSerializer, 200: AssignmentSheetSerializer},
        summary="印发督办通知单（编号；已印发则返回原通知单）",
    )
    def post(self, request, pk: int):
        instruction = self._instruction(request, pk)
        sheet, created = services.assignment_sheet_issue(actor=request.user, instruction=instruction)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(AssignmentSheetSerializer(sheet).data, status=code)
