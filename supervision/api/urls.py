from rest_framework.routers import DefaultRouter

from .views import AttachmentViewSet, CategoryViewSet, InstructionViewSet, ItemRequestViewSet, ItemViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("categories", CategoryViewSet, basename="category")
router.register("instructions", InstructionViewSet, basename="instruction")
router.register("items", ItemViewSet, basename="item")
router.register("requests", ItemRequestViewSet, basename="request")
router.register("attachments", AttachmentViewSet, basename="attachment")

urlpatterns = router.urls
