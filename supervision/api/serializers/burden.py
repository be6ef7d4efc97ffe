"""Less burden (减负, DOMAIN.md rule 12): inspection activities (统筹督查) and the weekly burden figures."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Unit
from supervision.api.serializers.people import LabelField, UnitBriefSerializer, UserBriefSerializer
from supervision.choices import ActivityKind
from supervision.models import SupervisionActivity


class ClashSerializer(serializers.Serializer):
    """A unit already booked that week by another activity (`Clash.as_dict()`)."""

    unit_id = serializers.IntegerField()
    unit = serializers.CharField()
    activity_id = serializers.IntegerField()
    activity = serializers.CharField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    message = serializers.CharField()


class ActivitySerializer(serializers.ModelSerializer):
    kind_display = LabelField(ActivityKind.choices, source="kind")
    target_units = UnitBriefSerializer(many=True, read_only=True)
    created_by = UserBriefSerializer(read_only=True)

    class Meta:
        model = SupervisionActivity
        fields = [
            "id",
            "kind",
            "kind_display",
            "title",
            "start_date",
            "end_date",
            "bodies",
            "target_units",
            "notes",
            "created_by",
            "created_at",
        ]


class ActivitySavedSerializer(ActivitySerializer):
    warnings = ClashSerializer(many=True, read_only=True, help_text=_("确认后仍保存的同周督查冲突"))

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "warnings"]


class ActivityInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    title = serializers.CharField(max_length=200)
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    bodies = serializers.CharField(max_length=500, required=False, allow_blank=True, default="", help_text=_("参加单位"))
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    target_unit_ids = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.filter(is_active=True), source="target_units", many=True, allow_empty=False
    )
    confirm_clash = serializers.BooleanField(
        default=False, help_text=_("督查对象同一周已有其他督查活动时确认仍保存（否则返回 409 activity_clash）")
    )


class ActivityUpdateInput(ActivityInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "confirm_clash":
                field.required = False
                field.default = serializers.empty


class BurdenQueryInput(serializers.Serializer):
    week = serializers.DateField(required=False, help_text=_("该周任一天（默认本周）"))
    weeks = serializers.IntegerField(required=False, min_value=1, max_value=26, default=1, help_text=_("向前共几周"))
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False, help_text=_("只看一个单位"))


class BurdenRowSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField()
    unit = serializers.CharField()
    week_start = serializers.DateField()
    messages = serializers.IntegerField(help_text=_("收到消息（站内信）"))
    reminders = serializers.IntegerField(help_text=_("催办"))
    reports_asked = serializers.IntegerField(help_text=_("要求报送（按反馈周期催报）"))
    reports_filed = serializers.IntegerField(help_text=_("报送反馈"))
    open_items = serializers.IntegerField(help_text=_("在办督办事项（牵头）"))
    matters = serializers.IntegerField(help_text=_("其中不同事项（合并督办只计一次）"))
    items_per_matter = serializers.FloatField(help_text=_("每个事项的督办件数"))
    visits = serializers.IntegerField(help_text=_("督查活动"))
    over_limits = serializers.ListField(child=serializers.CharField(), help_text=_("超过上限的指标"))
