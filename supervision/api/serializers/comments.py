"""Leader comments (批示 / 点评): output and input."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from supervision.api.serializers.people import UserBriefSerializer
from supervision.models import LeaderComment


class LeaderCommentSerializer(serializers.ModelSerializer):
    author = UserBriefSerializer(read_only=True)
    item_id = serializers.IntegerField(read_only=True, allow_null=True)
    item_code = serializers.CharField(source="item.code", read_only=True, allow_null=True, default=None)
    instruction_id = serializers.IntegerField(read_only=True, allow_null=True)
    target_title = serializers.SerializerMethodField(help_text=_("所批示的事项或批示件标题"))
    is_read = serializers.BooleanField(read_only=True, default=False, help_text=_("当前用户是否已阅"))

    class Meta:
        model = LeaderComment
        fields = ["id", "item_id", "item_code", "instruction_id", "target_title", "text", "author", "created_at", "is_read"]

    def get_target_title(self, comment) -> str:
        return comment.item.title if comment.item_id else comment.instruction.title


class LeaderCommentInput(serializers.Serializer):
    text = serializers.CharField(max_length=5000, help_text=_("批示、点评内容"))
