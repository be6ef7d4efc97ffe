from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from supervision.web import views
from supervision.web.forms import LoginForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/items/", views.item_list, name="dashboard-items"),
]
