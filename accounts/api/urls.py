from django.urls import path
from rest_framework.routers import DefaultRouter

from .views import UnitViewSet, UserViewSet
from .views_auth import LogoutAllView, LogoutView, TokenView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("units", UnitViewSet, basename="unit")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    *router.urls,
]
