from rest_framework.routers import DefaultRouter

from .views import AttachmentViewSet, CategoryViewSet, InstructionViewSet, ItemRequestViewSet, ItemViewSet
from .views_accountability import NoticeViewSet, OverdueExplanationViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("categories", CategoryViewSet, basename="category")
router.register("instructions", InstructionViewSet, basename="instruction")
router.register("items", ItemViewSet, basename="item")
router.register("requests", ItemRequestViewSet, basename="request")
router.register("attachments", AttachmentViewSet, basename="attachment")
router.register("explanations", OverdueExplanationViewSet, basename="explanation")
router.register("notices", NoticeViewSet, basename="notice")

urlpatterns = router.urls
