"""Output serializers for the inbox and the delivery list; the API writes nothing through them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from supervision.api.representation import CompiledOutputMixin
from supervision.api.serializers.people import UserBriefSerializer
from supervision.models import Item
from tasks.choices import WebhookEventType
from tasks.models import Delivery, Notification, WebhookDelivery, WebhookSubscription


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
    status_label = serializers.CharField(source="get_status_display", read_only=True)

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
            "status_label",
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


# Serializers of the webhook API. Inputs only parse; the rules are in tasks/outbox/webhooks/. No


class WebhookClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    client = WebhookClientSerializer(read_only=True)
    event_types = serializers.SerializerMethodField()
    event_types_display = serializers.CharField(source="get_event_types_display", read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "client",
            "target_url",
            "event_types",
            "event_types_display",
            "description",
            "is_active",
            "created_at",
            "updated_at",
            "secret_rotated_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=WebhookEventType.choices)))
    def get_event_types(self, obj) -> list[str]:
        return list(obj.event_types or [])


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="签名密钥，只在创建或更换时返回这一次，请妥善保存。")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


class WebhookSubscriptionInput(serializers.Serializer):
    # Format and address rules are checked in the service (one place, with Chinese messages).
    target_url = serializers.CharField(max_length=2000, help_text="接收事件的 http(s) 地址")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEventType.choices), allow_empty=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class WebhookItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "code"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    subscription_id = serializers.IntegerField(read_only=True)
    client = WebhookClientSerializer(source="subscription.client", read_only=True)
    item = WebhookItemSerializer(read_only=True)
    event_id = serializers.CharField(source="event_key", read_only=True)
    event_type_display = serializers.CharField(source="get_event_type_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "subscription_id",
            "client",
            "event_id",
            "event_type",
            "event_type_display",
            "item",
            "status",
            "status_display",
            "status_label",
            "attempts",
            "next_attempt_at",
            "last_error",
            "last_response_status",
            "sent_at",
            "replay_count",
            "payload",
            "created_at",
            "updated_at",
        ]


# ---------------------------------------------------------------------------------------------
# The person's own delivery modes (每日汇总 or 即时发送 per channel)


class ChannelChoiceSerializer(serializers.Serializer):
    channel = serializers.CharField(help_text="渠道：email、sms、webhook、wecom（企业微信）、dingtalk（钉钉）")
    channel_label = serializers.CharField()
    mode = serializers.CharField(help_text="现行方式：immediate（即时发送）或 digest（每日汇总）")
    chosen = serializers.CharField(allow_null=True, help_text="本人的选择；未选择时为 null")
    default_mode = serializers.CharField(help_text="督查室设置的默认方式")
    may_choose = serializers.BooleanField(help_text="督查室是否允许个人选择")


class NotificationPreferencesSerializer(serializers.Serializer):
    digest_time = serializers.CharField(help_text="每日汇总的发送时间（工作日，北京时间 HH:MM）")
    channels = ChannelChoiceSerializer(many=True)


class NotificationPreferencesInput(serializers.Serializer):
    modes = serializers.DictField(
        child=serializers.CharField(max_length=16),
        allow_empty=False,
        help_text='各渠道的发送方式，如 {"email": "digest", "sms": "immediate"}',
    )
