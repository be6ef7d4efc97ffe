"""API-key authentication for integration clients, and the per-operation permission.

Clients send `Authorization: Api-Key dbk_…` (or `X-Api-Key: dbk_…`). The request then runs as
the client's service account, with `request.auth` set to the IntegrationClient. A view says which
operation it belongs to with `integration_operation = IntegrationOperation.X` (and
`integration_read_only = True` to admit keys for GET only); a key may call it only if its client
allows that operation. Views that name none refuse keys (deny by default)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts.integration import client_for_key, integration_client_touch
from accounts.models import IntegrationClient

HEADER_SCHEME = "api-key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        key = None
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if header and header[0].lower() == HEADER_SCHEME:
            if len(header) != 2:
                raise exceptions.AuthenticationFailed(_("API 密钥格式不正确。"))
            key = header[1]
        elif request.META.get("HTTP_X_API_KEY"):
            key = request.META["HTTP_X_API_KEY"]
        if key is None:
            return None  # not ours: let token/session authentication try
        client = client_for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed(_("API 密钥无效或对接系统已停用。"))
        integration_client_touch(client)
        return client.user, client

    def authenticate_header(self, request) -> str:
        return "Api-Key"


class IntegrationOperationAllowed(permissions.BasePermission):
    """Passes every request not made with an API key; a key must be allowed the view's operation."""

    message = _("该对接系统未被授权调用此接口。")

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, IntegrationClient):
            return True
        operation = getattr(view, "integration_operation", None)
        if operation is None or not request.auth.allows(operation):
            return False
        # Ledger views open to keys for reading only: an OA system follows items, people act on them.
        return request.method in permissions.SAFE_METHODS or not getattr(view, "integration_read_only", False)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "对接系统的 API 密钥：`Authorization: Api-Key dbk_…`",
        }
