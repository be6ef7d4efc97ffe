"""OA intake: the push's shape (input) and the record an OA system reads back (output).

The input is parsed part by part (the instruction, then each item) and field by field, so that
one wrong field does not hide the others: every problem is collected under its path
(`items[2].deadline`) and the domain checks in supervision/intake.py add theirs before anything
is answered. Names are resolved there too; here a reference is only "an id or a name"."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from accounts.choices import Classification
from supervision.choices import InstructionKind, InstructionNature, Light, ReportingCycle, Urgency
from supervision.exchange.intake import MAX_ITEMS, IntakePayload, IntakeView, payload_digest
from supervision.models import Instruction, Item
from supervision.workcalendar import within_supported_years

# ---------------------------------------------------------------------------------------------
# Input


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1, "maxLength": 100}]})
class IdOrNameField(serializers.Field):
    """A record named by its id (a JSON number) or by its exact name (a JSON string)."""

    default_error_messages = {"invalid": _lazy("请填写 ID（整数）或名称（字符串）。")}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if data < 1:
                self.fail("invalid")
            return data
        if isinstance(data, str) and data.strip() and len(data.strip()) <= 100:
            return data.strip()
        self.fail("invalid")

    def to_representation(self, value):
        return value


def _external_id(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=100, help_text=_lazy("OA 系统自己的编号；重发时保持不变"), **kwargs)


class IntakeItemInput(serializers.Serializer):
    external_id = _external_id()
    title = serializers.CharField(max_length=200)
    requirement = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    category = IdOrNameField(required=False, allow_null=True, help_text=_lazy("事项类别 ID 或名称；缺省用批示件的 category"))
    lead_unit = IdOrNameField(required=False, allow_null=True, help_text=_lazy("牵头单位 ID 或单位全称"))
    supporting_units = serializers.ListField(
        child=IdOrNameField(), required=False, default=list, max_length=50, help_text=_lazy("配合单位 ID 或单位全称的列表")
    )
    owner = IdOrNameField(required=False, allow_null=True, help_text=_lazy("责任人 ID，或牵头单位中人员的姓名（或用户名）"))
    deadline = serializers.DateField(required=False, allow_null=True, validators=[within_supported_years])
    deadline_time = serializers.TimeField(required=False, allow_null=True, help_text=_lazy("特急事项的当日办结时间"))
    deadline_workdays = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=365, help_text=_lazy("按工作日计的办理时限（自交办之日起）")
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    reporting_cycle = serializers.ChoiceField(choices=ReportingCycle.choices, default=ReportingCycle.NONE)
    classification = serializers.ChoiceField(
        choices=Classification.choices, required=False, help_text=_lazy("缺省与批示件相同；不能低于批示件")
    )
    assign = serializers.BooleanField(required=False, default=False, help_text=_lazy("true：登记后立即交办"))


class IntakeInstructionFieldsInput(serializers.Serializer):
    external_id = _external_id()
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=InstructionKind.choices)
    nature = serializers.ChoiceField(choices=InstructionNature.choices, default=InstructionNature.ACTIONABLE)
    issuing_leader = IdOrNameField(
        required=False, allow_null=True, help_text=_lazy("批示领导：人员 ID 或姓名；本系统中没有的姓名记为外部批示人")
    )
    issuer_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text=_lazy("外部批示人（如上级领导）")
    )
    document_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    issued_on = serializers.DateField(validators=[within_supported_years])
    text = serializers.CharField(max_length=20000)
    classification = serializers.ChoiceField(choices=Classification.choices, default=Classification.PUBLIC)
    category = IdOrNameField(required=False, allow_null=True, help_text=_lazy("各事项缺省的事项类别（ID 或名称）"))


class IntakeInstructionInput(IntakeInstructionFieldsInput):
    """The whole push, as documented in the schema."""

    items = IntakeItemInput(many=True, required=False, help_text=_lazy("分解的督办事项（最多 200 项）"))


def _messages(detail, path: str, out: dict[str, list[str]]) -> None:
    """DRF's error detail under bracketed paths: a list field's element errors as `path[i]`."""
    if isinstance(detail, dict):
        for key, sub in detail.items():
            _messages(sub, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}", out)
    elif isinstance(detail, list):
        for sub in detail:
            if isinstance(sub, (dict, list)):
                _messages(sub, path, out)
            else:
                out.setdefault(path, []).append(str(sub))
    else:
        out.setdefault(path, []).append(str(detail))


_INVALID = object()


def _try(field):
    def parse(value):
        try:
            return field.run_validation(value)
        except serializers.ValidationError:
            return _INVALID

    return parse


def _parse_part(serializer: serializers.Serializer, data: Mapping, prefix: str, errors: dict) -> dict:
    """Each field on its own: the values that parsed, and every field's problem under its path."""
    values = {}
    for name in sorted(set(data) - set(serializer.fields)):
        errors.setdefault(prefix + name, []).append(_("未知字段。"))
    for name, field in serializer.fields.items():
        primitive = field.get_value(data)
        try:
            values[name] = field.run_validation(primitive)
        except SkipField:
            continue
        except serializers.ValidationError as exc:
            _messages(exc.detail, prefix + name, errors)
            if isinstance(field, serializers.ListField) and isinstance(primitive, list):
                # Keep the elements that parsed, so the domain checks still see them.
                values[name] = [v for v in map(_try(field.child), primitive) if v is not _INVALID]
    for name in list(values):
        if isinstance(values[name], str) and name in ("external_id", "title", "text"):
            values[name] = values[name].strip()
    return values


def parse_intake(data) -> IntakePayload:
    """The request body as an IntakePayload for supervision.exchange.intake.instruction_intake."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, Mapping):
        return IntakePayload(None, "", {}, [], {"non_field_errors": [_("请求体须为 JSON 对象。")]})
    head_data = {key: value for key, value in data.items() if key != "items"}
    instruction = _parse_part(IntakeInstructionFieldsInput(), head_data, "", errors)
    raw_items = data.get("items", [])
    items: list[dict] = []
    if not isinstance(raw_items, list):
        errors.setdefault("items", []).append(_("items 须为事项列表。"))
    elif len(raw_items) > MAX_ITEMS:
        errors.setdefault("items", []).append(_("一次最多推送 %(n)s 个事项。") % {"n": MAX_ITEMS})
    else:
        for index, raw in enumerate(raw_items):
            if not isinstance(raw, Mapping):
                errors.setdefault(f"items[{index}]", []).append(_("每个事项须为 JSON 对象。"))
                items.append({})
                continue
            items.append(_parse_part(IntakeItemInput(), raw, f"items[{index}].", errors))
    return IntakePayload(
        external_id=instruction.get("external_id") or None,
        digest=payload_digest(data),
        instruction=instruction,
        items=items,
        errors=errors,
    )


# ---------------------------------------------------------------------------------------------
# Output


class IntakeInstructionSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    classification_display = serializers.CharField(source="get_classification_display", read_only=True)
    issuing_leader = serializers.SerializerMethodField()

    class Meta:
        model = Instruction
        fields = [
            "id",
            "title",
            "kind",
            "kind_display",
            "nature",
            "issuing_leader",
            "issuer_name",
            "document_number",
            "issued_on",
            "classification",
            "classification_display",
            "version",
        ]

    def get_issuing_leader(self, instruction) -> dict | None:
        leader = instruction.issuing_leader
        return {"id": leader.pk, "name": str(leader)} if leader else None


class IntakeItemSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(source="intake_external_id", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    light = serializers.ChoiceField(choices=Light.choices, read_only=True)
    lead_unit = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "external_id",
            "id",
            "code",
            "title",
            "status",
            "status_display",
            "status_label",
            "light",
            "lead_unit",
            "owner",
            "deadline",
            "deadline_time",
            "progress",
            "assigned_at",
            "closed_at",
            "version",
        ]

    def get_lead_unit(self, item) -> dict | None:
        return {"id": item.lead_unit.pk, "name": item.lead_unit.name} if item.lead_unit_id else None

    def get_owner(self, item) -> dict | None:
        return {"id": item.owner.pk, "name": str(item.owner)} if item.owner_id else None


class IntakeRecordSerializer(serializers.Serializer):
    """What an OA system keeps: our ids and ledger codes for its ids, and where each item stands."""

    external_id = serializers.CharField(source="record.external_id")
    received_at = serializers.DateTimeField(source="record.created_at")
    instruction = IntakeInstructionSerializer()
    items = serializers.SerializerMethodField()

    @extend_schema_field(IntakeItemSerializer(many=True))
    def get_items(self, view: IntakeView) -> list[dict]:
        for external_id, item in view.items:
            item.intake_external_id = external_id
        return IntakeItemSerializer([item for _ext, item in view.items], many=True).data
