from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.views import TokenView, UnitViewSet, UserViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("units", UnitViewSet, basename="unit")
router.register("users", UserViewSet, basename="user")

urlpatterns = [path("auth/token/", TokenView.as_view(), name="auth-token"), *router.urls]
