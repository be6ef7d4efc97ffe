"""Output serializers describe records; input serializers only parse and validate a request.
Neither writes: the views hand validated data to supervision.services."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.choices import Classification
from accounts.models import Unit, User
from supervision.api.representation import CompiledOutputMixin
from supervision.api.serializers.people import LabelField, UnitBriefSerializer, UserBriefSerializer
from supervision.choices import (
    ACTION_LABELS,
    TRANSITION_STATUS_LABELS,
    AssignmentRole,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    Light,
    ReferralDepartment,
    ReportingCycle,
    ReportKind,
    RequestKind,
    ReturnVisitResult,
    Urgency,
)
from supervision.models import (
    AssignmentSheet,
    Attachment,
    AuditEvent,
    Category,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    ProgressReport,
    Referral,
    ReturnVisit,
)
from supervision.workcalendar import rest_day_warning, within_supported_years

# ---------------------------------------------------------------------------------------------
# Output


class AttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "sha256", "content_type", "uploaded_at", "download_url"]

    def get_download_url(self, attachment) -> str:
        return reverse("attachment-download", args=[attachment.pk])


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name"]


class InstructionBriefSerializer(serializers.ModelSerializer):
    kind_display = LabelField(InstructionKind.choices, source="kind")
    issuing_leader = UserBriefSerializer(read_only=True)

    class Meta:
        model = Instruction
        fields = ["id", "title", "kind", "kind_display", "nature", "document_number", "issuing_leader", "issuer_name"]


class InstructionSerializer(CompiledOutputMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    nature_display = serializers.CharField(source="get_nature_display", read_only=True)
    classification_display = serializers.CharField(source="get_classification_display", read_only=True)
    issuing_leader = UserBriefSerializer(read_only=True)
    created_by = UserBriefSerializer(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Instruction
        fields = [
            "id",
            "title",
            "kind",
            "kind_display",
            "nature",
            "nature_display",
            "issuing_leader",
            "issuer_name",
            "document_number",
            "issued_on",
            "text",
            "classification",
            "classification_display",
            "attachments",
            "created_by",
            "created_at",
            "updated_at",
            "version",
        ]


class AssignmentSerializer(serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    role_display = LabelField(AssignmentRole.choices, source="role")
    acknowledged_by = UserBriefSerializer(read_only=True)

    class Meta:
        model = ItemAssignment
        fields = ["unit", "role", "role_display", "acknowledged_at", "acknowledged_by", "may_view_all_reports"]


class ItemSerializer(CompiledOutputMixin, serializers.ModelSerializer):
    status_display = LabelField(ItemStatus.choices, source="status")
    status_label = LabelField(ItemStatus.choices, source="status")
    urgency_display = LabelField(Urgency.choices, source="urgency")
    classification_display = LabelField(Classification.choices, source="classification")
    reporting_cycle_display = LabelField(ReportingCycle.choices, source="reporting_cycle")
    is_overdue = serializers.BooleanField(read_only=True)
    light = serializers.ChoiceField(choices=Light.choices, read_only=True, help_text=_("红黄绿灯，规则见 supervision/lights.py"))
    light_display = LabelField(Light.choices, source="light")
    category = CategorySerializer(read_only=True)
    instruction = InstructionBriefSerializer(read_only=True)
    lead_unit = UnitBriefSerializer(read_only=True)
    supporting_units = serializers.SerializerMethodField()
    owner = UserBriefSerializer(read_only=True)
    assignments = AssignmentSerializer(many=True, read_only=True, source="assignment_list")  # for_list prefetches it

    class Meta:
        model = Item
        fields = [
            "id",
            "code",
            "title",
            "requirement",
            "category",
            "instruction",
            "lead_unit",
            "supporting_units",
            "owner",
            "deadline",
            "deadline_time",
            "deadline_workdays",
            "original_deadline",
            "warning_date",
            "listed_for_supervision_at",
            "light",
            "light_display",
            "is_overdue",
            "urgency",
            "urgency_display",
            "reporting_cycle",
            "reporting_cycle_display",
            "classification",
            "classification_display",
            "status",
            "status_display",
            "status_label",
            "progress",
            "extension_count",
            "reopen_count",
            "assignments",
            "assigned_at",
            "closed_at",
            "created_at",
            "updated_at",
            "version",
        ]

    def get_supporting_units(self, item) -> list[dict]:
        # Read from the prefetched assignments: no query per row.
        return [{"id": a.unit.pk, "name": a.unit.name} for a in item.assignment_list if a.role == "supporting"]


class ItemDetailSerializer(ItemSerializer):
    """One item (its page, and every write's answer): the list row plus what costs a query to say."""

    warnings = serializers.SerializerMethodField(
        help_text=_("提示（不阻止保存）：如办理时限落在休息日（“2026-12-12 为休息日”）。")
    )

    assignment_sheet_url = serializers.SerializerMethodField(help_text=_("督办通知单下载地址；尚未印发为 null"))

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "warnings", "assignment_sheet_url"]

    def get_assignment_sheet_url(self, item) -> str | None:
        if not AssignmentSheet.objects.filter(instruction_id=item.instruction_id).exists():
            return None
        return reverse("instruction-assignment-sheet", args=[item.instruction_id])

    def get_warnings(self, item) -> list[str]:
        warning = rest_day_warning(item.deadline)
        return [warning] if warning else []


class ProgressReportSerializer(CompiledOutputMixin, serializers.ModelSerializer):
    unit = UnitBriefSerializer(read_only=True)
    submitted_by = UserBriefSerializer(read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "unit",
            "kind",
            "kind_display",
            "progress_text",
            "results",
            "problems",
            "next_steps",
            "progress",
            "attachments",
            "submitted_by",
            "submitted_at",
        ]


class ItemRequestSerializer(CompiledOutputMixin, serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    unit = UnitBriefSerializer(read_only=True)
    requested_by = UserBriefSerializer(read_only=True)
    endorsed_by = UserBriefSerializer(read_only=True)
    decided_by = UserBriefSerializer(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = ItemRequest
        fields = [
            "id",
            "item",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "status_label",
            "reason",
            "requested_deadline",
            "previous_deadline",
            "outcome",
            "attachments",
            "unit",
            "requested_by",
            "requested_at",
            "needs_endorsement",
            "endorsed_by",
            "endorsed_at",
            "self_endorsed",
            "returned_at",
            "endorsement_comment",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]

    def get_item(self, request) -> dict:
        return {"id": request.item_id, "code": request.item.code, "title": request.item.title}


class ReturnVisitSerializer(serializers.ModelSerializer):
    result_display = serializers.CharField(source="get_result_display", read_only=True)
    visited_by = UserBriefSerializer(read_only=True)

    class Meta:
        model = ReturnVisit
        fields = ["id", "result", "result_display", "findings", "visited_on", "visited_by", "created_at"]


class ReferralSerializer(serializers.ModelSerializer):
    department_display = serializers.CharField(source="get_department_display", read_only=True)
    referred_by = UserBriefSerializer(read_only=True)
    item_id = serializers.IntegerField(read_only=True)
    acknowledged_by = UserBriefSerializer(read_only=True)
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    outcome_recorded_by = UserBriefSerializer(read_only=True)
    outcome_attachment = AttachmentSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "item_id",
            "department",
            "department_display",
            "reason",
            "referred_by",
            "referred_at",
            "acknowledged_at",
            "acknowledged_by",
            "outcome",
            "outcome_display",
            "outcome_text",
            "outcome_attachment",
            "outcome_recorded_at",
            "outcome_recorded_by",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    action_label = LabelField(list(ACTION_LABELS.items()), source="action")
    from_status_label = LabelField(list(TRANSITION_STATUS_LABELS.items()), source="from_status")
    to_status_label = LabelField(list(TRANSITION_STATUS_LABELS.items()), source="to_status")

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor",
            "action",
            "action_label",
            "object_type",
            "object_id",
            "from_status",
            "from_status_label",
            "to_status",
            "to_status_label",
            "comment",
            "data",
        ]

    def get_actor(self, event) -> dict | None:
        return {"id": event.actor_id, "name": event.actor_name} if event.actor_id else None


# ---------------------------------------------------------------------------------------------
# Input


class VersionedInput(serializers.Serializer):
    """`version` may come in the body instead of an If-Match header; either gives 412 when stale."""

    version = serializers.IntegerField(required=False, min_value=1, help_text=_("客户端持有的版本号；与当前版本不符时返回 412"))


class CommentInput(VersionedInput):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class InstructionInput(VersionedInput):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=InstructionKind.choices)
    nature = serializers.ChoiceField(choices=InstructionNature.choices, default=InstructionNature.ACTIONABLE)
    issuing_leader_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), source="issuing_leader", required=False, allow_null=True
    )
    issuer_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    document_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    issued_on = serializers.DateField(validators=[within_supported_years])
    text = serializers.CharField()
    classification = serializers.ChoiceField(choices=Classification.choices, default=Classification.PUBLIC)
    attachment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )


class ItemInput(VersionedInput):
    instruction_id = serializers.PrimaryKeyRelatedField(queryset=Instruction.objects.all(), source="instruction")
    title = serializers.CharField(max_length=200)
    requirement = serializers.CharField(required=False, allow_blank=True, default="")
    category_id = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), source="category", required=False, allow_null=True
    )
    lead_unit_id = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), source="lead_unit", required=False, allow_null=True
    )
    supporting_unit_ids = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), source="supporting_units", many=True, required=False
    )
    owner_id = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), source="owner", required=False, allow_null=True)
    deadline = serializers.DateField(required=False, allow_null=True, validators=[within_supported_years])
    deadline_time = serializers.TimeField(required=False, allow_null=True, help_text=_("特急事项的当日办结时间，如 17:30"))
    deadline_workdays = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=365, help_text=_("按工作日计的办理时限（自交办之日起）")
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    reporting_cycle = serializers.ChoiceField(choices=ReportingCycle.choices, default=ReportingCycle.NONE)
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    confirm_not_duplicate = serializers.BooleanField(
        default=False, help_text=_("台账中已有疑似同一事项时，确认本事项不是重复事项（否则返回 409 possible_duplicate）")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An instruction the user cannot see does not exist for them, here as everywhere.
        request = self.context.get("request")
        if "instruction_id" in self.fields and request is not None:
            self.fields["instruction_id"].queryset = Instruction.objects.visible_to(request.user)

    def validate_supporting_unit_ids(self, units):
        if len({u.pk for u in units}) != len(units):
            raise serializers.ValidationError(_("配合单位有重复。"))
        return units


class ItemUpdateInput(ItemInput):
    """PATCH: the instruction an item belongs to never changes."""

    instruction_id = None
    confirm_not_duplicate = None


class ProgressReportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices, default=ReportKind.STAGE)
    progress_text = serializers.CharField(max_length=10000)
    results = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    problems = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    next_steps = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    progress = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    attachment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )


class ItemRequestInput(VersionedInput):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    reason = serializers.CharField(max_length=5000)
    requested_deadline = serializers.DateField(required=False, allow_null=True, validators=[within_supported_years])
    outcome = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    attachment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )


class DecisionInput(CommentInput):
    approve = serializers.BooleanField()


class ReturnInput(VersionedInput):
    """Sending something back (to the requester, to the 督查员) always says why."""

    reason = serializers.CharField(max_length=2000, help_text=_("退回理由（必填）"))


class StageDurationSerializer(serializers.Serializer):
    median_hours = serializers.FloatField(allow_null=True, help_text=_("中位用时（小时）"))
    count = serializers.IntegerField()


class SignoffDurationSerializer(serializers.Serializer):
    """Per unit: median hours of each sign-off stage (request → unit signature → office decision;
    explanation → unit signature → ruling)."""

    unit_id = serializers.IntegerField()
    unit_name = serializers.CharField()
    request_endorsement = StageDurationSerializer(help_text=_("申请提出至单位负责人签字"))
    request_decision = StageDurationSerializer(help_text=_("单位签字至督查室审批"))
    explanation_endorsement = StageDurationSerializer(help_text=_("超期说明提交至单位负责人签字"))
    explanation_ruling = StageDurationSerializer(help_text=_("单位签字至督查室认定"))


class ReturnVisitInput(VersionedInput):
    result = serializers.ChoiceField(choices=ReturnVisitResult.choices)
    findings = serializers.CharField(max_length=10000)
    visited_on = serializers.DateField(required=False, allow_null=True, validators=[within_supported_years])
    new_deadline = serializers.DateField(
        required=False, allow_null=True, validators=[within_supported_years], help_text=_("复核未通过时重新整改的时限")
    )


class ReferralInput(serializers.Serializer):
    department = serializers.ChoiceField(choices=ReferralDepartment.choices)
    reason = serializers.CharField(max_length=5000)


class ReportAccessInput(serializers.Serializer):
    unit_id = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), source="unit")
    may_view_all_reports = serializers.BooleanField()


class AttachmentUploadInput(serializers.Serializer):
    file = serializers.FileField()
