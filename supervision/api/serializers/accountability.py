"""Serializers for overdue explanations and notices. Output serializers describe records; input
serializers only parse (the services decide what is allowed)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Unit
from supervision.api.serializers.ledger import ReferralSerializer
from supervision.api.serializers.people import UnitBriefSerializer, UserBriefSerializer
from supervision.choices import NoticeKind, ReasonKind, ReferralDepartment, Ruling
from supervision.models import Item, Notice, NoticeEntry, OverdueExplanation

# ---------------------------------------------------------------------------------------------
# Output


class ItemRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "code", "title", "deadline"]


class ExplanationAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.CharField()


class OverdueExplanationSerializer(serializers.ModelSerializer):
    item = ItemRefSerializer(read_only=True)
    unit = UnitBriefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    reason_kind_display = serializers.CharField(source="get_reason_kind_display", read_only=True)
    ruling_display = serializers.CharField(source="get_ruling_display", read_only=True)
    is_late = serializers.BooleanField(read_only=True, help_text=_("逾期提交，或逾期仍未提交"))
    submitted_by = UserBriefSerializer(read_only=True)
    endorsed_by = UserBriefSerializer(read_only=True)
    ruled_by = UserBriefSerializer(read_only=True)
    referrals = ReferralSerializer(many=True, read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = OverdueExplanation
        fields = [
            "id",
            "item",
            "unit",
            "deadline",
            "due_by",
            "is_late",
            "status",
            "status_display",
            "status_label",
            "reason_kind",
            "reason_kind_display",
            "text",
            "attachments",
            "submitted_by",
            "submitted_at",
            "needs_endorsement",
            "endorsed_by",
            "endorsed_at",
            "self_endorsed",
            "endorsement_comment",
            "ruling",
            "ruling_display",
            "ruled_by",
            "ruled_at",
            "ruling_comment",
            "referrals",
            "created_at",
        ]

    @extend_schema_field(ExplanationAttachmentSerializer(many=True))
    def get_attachments(self, explanation) -> list[dict]:
        # Read from the prefetched links: no query per row.
        rows = []
        for link in explanation.attachment_links.all():
            a = link.attachment
            rows.append(
                {
                    "id": a.pk,
                    "original_name": a.original_name,
                    "size": a.size,
                    "sha256": a.sha256,
                    "uploaded_at": a.uploaded_at,
                    "download_url": reverse("explanation-attachment", args=[explanation.pk, a.pk]),
                }
            )
        return ExplanationAttachmentSerializer(rows, many=True).data


class NoticeEntrySerializer(serializers.ModelSerializer):
    item = ItemRefSerializer(read_only=True)
    unit = UnitBriefSerializer(read_only=True)

    class Meta:
        model = NoticeEntry
        fields = ["position", "item", "unit", "remark"]


class NoticeSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    classification_display = serializers.CharField(source="get_classification_display", read_only=True)
    entries = NoticeEntrySerializer(source="visible_entries", many=True, read_only=True, help_text=_("仅列出您有权查看的事项"))
    created_by = UserBriefSerializer(read_only=True)
    issued_by = UserBriefSerializer(read_only=True)
    docx_url = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id",
            "number",
            "kind",
            "kind_display",
            "title",
            "body",
            "status",
            "status_display",
            "status_label",
            "recommend_to_organization",
            "classification",
            "classification_display",
            "entries",
            "created_by",
            "created_at",
            "issued_by",
            "issued_at",
            "docx_url",
            "version",
        ]

    def get_docx_url(self, notice) -> str:
        return reverse("notice-docx", args=[notice.pk])


# ---------------------------------------------------------------------------------------------
# Input


class ExplanationSubmitInput(serializers.Serializer):
    reason_kind = serializers.ChoiceField(
        choices=ReasonKind.choices, help_text=_("客观原因（objective）或主观原因（subjective）")
    )
    text = serializers.CharField(max_length=10000)
    attachment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )


class ExplanationRuleInput(serializers.Serializer):
    ruling = serializers.ChoiceField(choices=Ruling.choices)
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text=_("问责时必填，作为移交理由")
    )
    departments = serializers.ListField(
        child=serializers.ChoiceField(choices=ReferralDepartment.choices),
        required=False,
        allow_empty=False,
        max_length=2,
        help_text=_("问责时移交的部门；不填按系统设置（纪检监察机关，必要时加组织部门）"),
    )


class NoticeEntryInput(serializers.Serializer):
    item_id = serializers.IntegerField(min_value=1)
    unit_id = serializers.IntegerField(min_value=1)
    remark = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class NoticeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NoticeKind.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    recommend_to_organization = serializers.BooleanField(required=False, default=False, help_text=_("表扬通报可向组织部门推荐"))
    entries = NoticeEntryInput(many=True, max_length=200)

    def validate_entries(self, rows):
        """Turn ids into objects. An item the user cannot see is reported as absent, like a wrong id."""
        request = self.context["request"]
        items = Item.objects.visible_to(request.user).in_bulk([r["item_id"] for r in rows])
        units = Unit.objects.in_bulk([r["unit_id"] for r in rows])
        errors = []
        for n, row in enumerate(rows, start=1):
            if row["item_id"] not in items:
                errors.append(_("第 %(n)s 项：事项不存在。") % {"n": n})
            elif row["unit_id"] not in units:
                errors.append(_("第 %(n)s 项：单位不存在。") % {"n": n})
        if errors:
            raise serializers.ValidationError(errors)
        # Under PATCH (partial) nested defaults are not applied, hence .get.
        return [(items[r["item_id"]], units[r["unit_id"]], r.get("remark", "")) for r in rows]


class NoticeUpdateInput(NoticeInput):
    """PATCH a draft: any of the fields; `entries`, when given, replaces the whole list."""
