from django.urls import include, path

urlpatterns = [
    path("", include("supervision.api.urls")),
    path("", include("tasks.api.urls")),
]
