"""Duplicate matters and linked items (减负, DOMAIN.md rule 12): candidates, 疑似重复, 合并督办."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Unit
from supervision.api.serializers.people import LabelField, UserBriefSerializer
from supervision.choices import ItemStatus, SuspicionSource, SuspicionStatus
from supervision.models import DuplicateSuspicion, Instruction, Item, ItemLink


class CandidateSerializer(serializers.Serializer):
    """An item that may be the same matter (as `Candidate.as_dict()` writes it)."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=ItemStatus.choices)
    status_display = serializers.CharField()
    lead_unit = serializers.CharField(allow_null=True)
    score = serializers.FloatField(help_text=_("相似度 0–1"))
    reasons = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField(help_text=_("理由，如“同一牵头单位（县住建局），事项名称相似度 0.86，地点一致（城北）”"))


class DuplicateCheckResult(serializers.Serializer):
    candidates = CandidateSerializer(many=True)


class DuplicateCheckInput(serializers.Serializer):
    """The matter to look for: what an item's registration would send."""

    instruction_id = serializers.PrimaryKeyRelatedField(
        queryset=Instruction.objects.all(), source="instruction", required=False, allow_null=True
    )
    title = serializers.CharField(max_length=200)
    requirement = serializers.CharField(required=False, allow_blank=True, default="")
    lead_unit_id = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), source="lead_unit")
    supporting_unit_ids = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), source="supporting_units", many=True, required=False, default=list
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["instruction_id"].queryset = Instruction.objects.visible_to(request.user)


class MatterItemSerializer(serializers.ModelSerializer):
    status_display = LabelField(ItemStatus.choices, source="status")
    lead_unit = serializers.CharField(source="lead_unit.name", default=None, read_only=True)

    class Meta:
        model = Item
        fields = ["id", "code", "title", "status", "status_display", "lead_unit"]


class DuplicateSuspicionSerializer(serializers.ModelSerializer):
    item = MatterItemSerializer(read_only=True)
    candidate = MatterItemSerializer(read_only=True)
    reason = serializers.CharField(source="reason_text", read_only=True)
    source_display = LabelField(SuspicionSource.choices, source="source")
    status_display = LabelField(SuspicionStatus.choices, source="status")
    decided_by = UserBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = DuplicateSuspicion
        fields = [
            "id",
            "item",
            "candidate",
            "score",
            "reasons",
            "reason",
            "source",
            "source_display",
            "status",
            "status_display",
            "created_at",
            "decided_by",
            "decided_at",
            "comment",
        ]


class SuspicionDecisionInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class SuspicionConfirmInput(SuspicionDecisionInput):
    link = serializers.BooleanField(default=False, help_text=_("同时将本事项并入疑似重复的事项合并督办"))
    count_once = serializers.BooleanField(default=True, help_text=_("合并后统计时只计一次"))


class ItemLinkSerializer(serializers.ModelSerializer):
    item = MatterItemSerializer(read_only=True)
    lead = MatterItemSerializer(read_only=True)
    linked_by = UserBriefSerializer(read_only=True)
    unlinked_by = UserBriefSerializer(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ItemLink
        fields = [
            "id",
            "item",
            "lead",
            "count_once",
            "comment",
            "linked_by",
            "linked_at",
            "unlinked_by",
            "unlinked_at",
            "is_active",
        ]


class ItemLinkInput(serializers.Serializer):
    item_id = serializers.PrimaryKeyRelatedField(queryset=Item.objects.all(), source="item")
    lead_id = serializers.PrimaryKeyRelatedField(queryset=Item.objects.all(), source="lead")
    count_once = serializers.BooleanField(default=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:  # an item the user cannot see does not exist for them
            for name in ("item_id", "lead_id"):
                self.fields[name].queryset = Item.objects.visible_to(request.user)


class UnlinkInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
