"""Thin views over the outbox: a selector for every read, a service for every write."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.authentication import IntegrationOperationAllowed
from tasks import notifications, selectors
from tasks.api import serializers as s
from tasks.filtersets import DeliveryFilterSet, InboxFilterSet
from tasks.models import Delivery, Notification


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
