"""Referral outcomes (移交处理结果): the receiving department's input, and the counts by outcome."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from supervision.choices import ReferralDepartment, ReferralOutcome


class ReferralAcknowledgeInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ReferralOutcomeInput(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=ReferralOutcome.choices, help_text=_("纪检：问责类结果；组织部门：问责类或表扬、推荐")
    )
    text = serializers.CharField(max_length=5000, help_text=_("处理情况"))
    attachment_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text=_("先上传的处理决定等文件（可选）")
    )


class ReferralOutcomeCountSerializer(serializers.Serializer):
    department = serializers.ChoiceField(choices=ReferralDepartment.choices)
    outcome = serializers.CharField(help_text=_("处理结果代码；空字符串表示尚未登记结果"))
    outcome_display = serializers.SerializerMethodField()
    count = serializers.IntegerField(help_text=_("移交件数"))
    acknowledged = serializers.IntegerField(help_text=_("其中已受理件数"))

    def get_outcome_display(self, row) -> str:
        return str(ReferralOutcome(row["outcome"]).label) if row["outcome"] else str(_("尚未登记结果"))
