"""Output serializers for the inbox and the delivery list; the API writes nothing through them."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import UserBriefSerializer
from supervision.api.representation import CompiledOutputMixin
from supervision.models import Item
from tasks.models import Delivery, Notification


class NotificationItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "code"]


class NotificationSerializer(CompiledOutputMixin, serializers.ModelSerializer):
    item = NotificationItemSerializer(read_only=True, allow_null=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "item", "created_at", "read_at", "is_read"]


class NotificationBriefSerializer(serializers.ModelSerializer):
    item = NotificationItemSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "item", "created_at"]


class DeliverySerializer(serializers.ModelSerializer):
    notification = NotificationBriefSerializer(read_only=True)
    recipient = UserBriefSerializer(source="notification.recipient", read_only=True)
    channel_display = serializers.CharField(source="get_channel_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "notification",
            "recipient",
            "channel",
            "channel_display",
            "status",
            "status_display",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
            "created_at",
            "updated_at",
        ]


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkedCountSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
