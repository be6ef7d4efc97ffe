from rest_framework.routers import DefaultRouter

from tasks.api.urls_webhooks import urlpatterns as webhook_urlpatterns
from tasks.api.views import DeliveryViewSet, InboxViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("inbox", InboxViewSet, basename="inbox")
router.register("deliveries", DeliveryViewSet, basename="delivery")

urlpatterns = router.urls
urlpatterns += webhook_urlpatterns  # /webhooks/subscriptions/, /webhooks/deliveries/
