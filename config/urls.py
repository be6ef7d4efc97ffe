from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

admin.site.site_header = _("督办 · 督查台账管理")
admin.site.site_title = _("督办")
admin.site.index_title = _("后台管理")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # The pages: "/" is the 工作台; login, the ledger, items, the 挂图作战 dashboard (supervision/web/);
    # the inbox (tasks/web/: notifications belong to the worker app).
    path("", include("tasks.web.urls")),
    path("", include("supervision.web.urls")),
]


def _json_or_html_404(request, exception=None):
    """API clients get the API's error shape for unknown URLs, browsers Django's page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"code": "not_found", "detail": "记录不存在。", "fields": {}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _json_or_html_500(request):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"code": "server_error", "detail": "服务器内部错误，请稍后重试。", "fields": {}}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


def _json_or_html_400(request, exception=None):
    """Django's refusals of a body (too large: 413; too many fields: 400) in the API's error shape
    under /api/; a page elsewhere (413 kept for a body too large)."""
    from django.core.exceptions import RequestDataTooBig

    if request.path.startswith("/api/"):
        from supervision.api.errors import bad_request_response

        return bad_request_response(exception)
    from django.views.defaults import bad_request

    response = bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        response.status_code = 413
    return response


handler400 = _json_or_html_400
handler404 = _json_or_html_404
handler500 = _json_or_html_500
