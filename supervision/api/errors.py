"""One error shape for the whole API: {"code": ..., "detail": ..., "fields": {...}} (STYLE.md).

Domain errors keep their own status and code; DRF's errors keep theirs but get the same shape
and Chinese text; a database integrity race becomes 409 rather than a 500."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.signin import client_address, lockout_message, lockout_seconds_left, request_username
from supervision.errors import DomainError, QuotaExceeded


def _flatten(detail) -> dict:
    """DRF's nested error detail as {field: [messages]} (nested fields joined with dots)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, sub in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    return {"code": code, "detail": str(detail), "fields": fields or {}}


def too_large_body() -> dict:
    return error_body("request_too_large", _("请求内容过大。"))


def bad_request_response(exception) -> JsonResponse:
    """Django's own refusals of a request body (over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields)
    in the API's error shape: 413 for a body too large, 400 otherwise (config/urls.py handler400)."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(too_large_body(), status=413)
    return JsonResponse(error_body("bad_request", _("请求无效。")), status=400)


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response(too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", _("请求无效。")), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        detail = exc.message
        if exc.fields and str(detail) == str(type(exc).default_message):
            detail = _("请求参数有误。")
        fields = {k: [str(m) for m in v] for k, v in exc.fields.items()}
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QuotaExceeded) else None
        return Response({**exc.extra, **error_body(exc.code, detail, fields)}, status=exc.status_code, headers=headers)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("invalid", _("请求参数有误。"), _flatten(fields)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(error_body("conflict", _("与已有记录冲突，请刷新后重试。")), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("记录不存在。"))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _("请求参数有误。"), _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, (dict, list)):
            fields, detail = _flatten(detail), _("请求无效。")
        else:
            fields = {}
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, detail, fields)
    return response


def signin_lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None):
    """django-axes' AXES_LOCKOUT_CALLABLE: the answer to a sign-in the lockout refused. The API's
    token sign-in already answers 429 with the message (supervision/api/views/signin.py) and the login
    pages' forms show it (accounts/signin.py: SignInGuardMixin): they get the status and Retry-After here; any
    other door gets the message in the API's error shape under /api/ and as text elsewhere."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    username = (credentials or {}).get("username") or request_username(request)
    wait = lockout_seconds_left(username=username, address=client_address(request))
    if original_response is not None and not request.path.startswith("/api/"):
        # A login page (the admin's) that already says why.
        original_response.status_code = 429
        response = original_response
    elif request.path.startswith("/api/"):
        response = JsonResponse(error_body("signin_locked_out", lockout_message(wait)), status=429)
    else:
        response = HttpResponse(lockout_message(wait), status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response
