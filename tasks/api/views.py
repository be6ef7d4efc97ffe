"""Thin views over the outbox: a selector for every read, a service for every write."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.authentication import IntegrationOperationAllowed
from accounts.choices import IntegrationOperation
from accounts.models import IntegrationClient
from supervision.api.inputs import parse
from supervision.errors import NotPermitted
from supervision.filtersets import ChoicesFilter, FilterSet
from tasks import selectors
from tasks.api import serializers as s
from tasks.choices import DeliveryStatus, WebhookEventType
from tasks.filtersets import DeliveryFilterSet, InboxFilterSet
from tasks.models import Delivery, Notification, WebhookDelivery, WebhookSubscription
from tasks.outbox import notifications, preferences, webhooks


class IsOffice(permissions.BasePermission):
    """The delivery list shows who was told what over which channel: operators only."""

    message = _("只有督查室工作人员或管理员可以查看和处理消息投递。")
    code = "office_only"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_office)


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """站内信: the signed-in user's own messages. Anyone else's message is a 404."""

    lookup_value_regex = r"[0-9]+"
    serializer_class = s.NotificationSerializer
    filterset_class = InboxFilterSet
    queryset = Notification.objects.none()  # for the schema; reads go through selectors.inbox_list

    def get_queryset(self):
        return selectors.inbox_list(user=self.request.user)

    @extend_schema(responses=s.UnreadCountSerializer, summary="未读消息数")
    @action(detail=False, methods=["get"], url_path="unread-count", filterset_class=None, pagination_class=None)
    def unread_count(self, request):
        return Response({"unread": selectors.inbox_unread_count(user=request.user)})

    @extend_schema(request=None, responses=s.NotificationSerializer, summary="标记为已读")
    @action(detail=True, methods=["post"], filterset_class=None)
    def read(self, request, pk=None):
        notification = notifications.notification_mark_read(user=request.user, notification=self.get_object())
        return Response(s.NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=s.MarkedCountSerializer, summary="全部标记为已读")
    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None, pagination_class=None)
    def read_all(self, request):
        return Response({"marked": notifications.notification_mark_all_read(user=request.user)})


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """消息投递 and the dead-letter list (?status=dead); operators re-send from here."""

    lookup_value_regex = r"[0-9]+"
    permission_classes = [permissions.IsAuthenticated, IntegrationOperationAllowed, IsOffice]
    serializer_class = s.DeliverySerializer
    filterset_class = DeliveryFilterSet
    queryset = Delivery.objects.none()  # for the schema; reads go through selectors.delivery_list

    def get_queryset(self):
        return selectors.delivery_list(user=self.request.user)

    @extend_schema(request=None, responses=s.DeliverySerializer, summary="重新发送")
    @action(detail=True, methods=["post"], filterset_class=None)
    def resend(self, request, pk=None):
        delivery = notifications.delivery_resend(actor=request.user, delivery=self.get_object())
        return Response(s.DeliverySerializer(self.get_queryset().get(pk=delivery.pk)).data)


# Webhook API: a client manages its own subscriptions; clients and operators read deliveries;


MAX_ID = 2**63 - 1


class WebhookDeliveryFilterSet(FilterSet):
    status = ChoicesFilter(choices=DeliveryStatus.choices, label=_("状态（dead 为失败待处理）"))
    event_type = ChoicesFilter(choices=WebhookEventType.choices, label=_("事件类型"))
    # Bounded like the bigint columns, so an absurd number is a 400, not a database error.
    subscription = django_filters.NumberFilter(field_name="subscription_id", label=_("事件订阅"), min_value=1, max_value=MAX_ID)
    item = django_filters.NumberFilter(field_name="item_id", label=_("督办事项"), min_value=1, max_value=MAX_ID)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type", "subscription", "item"]


class CanReadDeliveries(permissions.BasePermission):
    """Deliveries say what left the system: operators and the clients themselves only."""

    message = _("只有督查室工作人员、管理员或对接系统本身可以查看 Webhook 投递。")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_office)


class WebhookSubscriptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """事件订阅: an OA system (API key allowed the `webhooks` operation) subscribes to ledger events.
    The secret is returned once, on creation and on rotation. Another client's subscription is a 404."""

    integration_operation = IntegrationOperation.WEBHOOKS
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]
    serializer_class = s.WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()  # for the schema; reads go through the selector

    def get_queryset(self):
        return selectors.webhook_subscription_list(user=self.request.user)

    @extend_schema(
        request=s.WebhookSubscriptionInput, responses={201: s.WebhookSubscriptionWithSecretSerializer}, summary="创建订阅"
    )
    def create(self, request):
        if not isinstance(request.auth, IntegrationClient):
            raise NotPermitted(_("请使用对接系统的 API 密钥创建订阅；管理员可在后台管理中为对接系统创建。"), code="client_only")
        data = parse(s.WebhookSubscriptionInput, request)
        data.pop("is_active", None)
        issued = webhooks.webhook_subscription_create(actor=request.user, client=request.auth, **data)
        return self._render(issued.subscription, secret=issued.secret, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.WebhookSubscriptionInput(partial=True), responses=s.WebhookSubscriptionSerializer, summary="修改订阅"
    )
    def partial_update(self, request, pk=None):
        data = parse(s.WebhookSubscriptionInput, request, partial=True)
        subscription = webhooks.webhook_subscription_update(actor=request.user, subscription=self.get_object(), **data)
        return self._render(subscription)

    @extend_schema(request=None, responses=s.WebhookSubscriptionWithSecretSerializer, summary="更换签名密钥")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        issued = webhooks.webhook_subscription_rotate_secret(actor=request.user, subscription=self.get_object())
        return self._render(issued.subscription, secret=issued.secret)

    def _render(self, subscription, *, secret: str | None = None, code=status.HTTP_200_OK):
        subscription = self.get_queryset().get(pk=subscription.pk)
        if secret is None:
            return Response(s.WebhookSubscriptionSerializer(subscription).data, status=code)
        subscription.secret = secret
        return Response(s.WebhookSubscriptionWithSecretSerializer(subscription).data, status=code)


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook 投递 and the dead-letter list (?status=dead). A client sees its own; operators see all
    (about items they may see) and replay dead letters with the same delivery id."""

    integration_operation = IntegrationOperation.WEBHOOKS
    permission_classes = [permissions.IsAuthenticated, IntegrationOperationAllowed, CanReadDeliveries]
    lookup_value_regex = r"[0-9]+"
    serializer_class = s.WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet
    queryset = WebhookDelivery.objects.none()  # for the schema; reads go through the selector

    def get_queryset(self):
        return selectors.webhook_delivery_list(user=self.request.user)

    @extend_schema(request=None, responses=s.WebhookDeliverySerializer, summary="重放（相同投递编号重新发送）")
    @action(detail=True, methods=["post"], filterset_class=None)
    def replay(self, request, pk=None):
        delivery = webhooks.webhook_delivery_replay(actor=request.user, delivery=self.get_object())
        return Response(s.WebhookDeliverySerializer(self.get_queryset().get(pk=delivery.pk)).data)


class NotificationPreferencesView(views.APIView):
    """每日汇总或即时发送, per channel: the signed-in person's own choice, within what the office allows."""

    def _payload(self, channels):
        data = {"digest_time": preferences.digest_send_time().strftime("%H:%M"), "channels": [c.__dict__ for c in channels]}
        return Response(s.NotificationPreferencesSerializer(data).data)

    @extend_schema(responses=s.NotificationPreferencesSerializer, summary="本人的消息接收方式")
    def get(self, request):
        return self._payload(preferences.notification_preferences(user=request.user))

    @extend_schema(
        request=s.NotificationPreferencesInput, responses=s.NotificationPreferencesSerializer, summary="设置本人的消息接收方式"
    )
    def put(self, request):
        data = parse(s.NotificationPreferencesInput, request)
        channels = preferences.notification_preferences_set(actor=request.user, user=request.user, modes=data["modes"])
        return self._payload(channels)
