from django.urls import path
from rest_framework.routers import DefaultRouter

from tasks.api.views import (
    DeliveryViewSet,
    InboxViewSet,
    NotificationPreferencesView,
    WebhookDeliveryViewSet,
    WebhookSubscriptionViewSet,
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("inbox", InboxViewSet, basename="inbox")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("webhooks/subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription")
router.register("webhooks/deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("me/notification-preferences/", NotificationPreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
