from django.urls import path

from tasks.web import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views.mark_read, name="inbox-read"),
    path("inbox/read-all/", views.mark_all_read, name="inbox-read-all"),
    path("inbox/settings/", views.notification_settings, name="notification-settings"),
]
