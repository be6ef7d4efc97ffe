"""Idempotency-Key on every POST of the API.

A client that may retry a POST (after a timeout, a dropped connection, a crash on its side) sends
`Idempotency-Key: <its own unique string>`. For the same principal and key:

- the same request (method, path and body digest) gets the stored response again, with the same
  status and body and the header `Idempotent-Replayed: true`; the view does not run again;
- another request gets 409 `idempotency_key_reused`;
- while the first request still runs, a second gets 409 `idempotency_key_in_progress`;
- 5xx answers and unexpected errors are not stored and their work is rolled back, so the client
  may simply retry; 4xx answers are stored (the same input gets the same answer).

Keys expire after DUBAN_IDEMPOTENCY_KEY_TTL_HOURS (24 h); tasks/housekeeping.py purges them.

Why a Django middleware and not a DRF base view: it must hold for every POST of every view,
including views written later and third-party ones (DRF's token view), with no view opting in.
A middleware sees every request but not DRF's principal (token, API key), because DRF
authenticates inside the view; so for POSTs carrying the header it authenticates first with the
view's own authenticators (the same classes DRF will use), and keys are scoped to that user.
Existing packages (django-idempotency-key, the DRF ones) key on Django's session user or keep
keys in a cache, and none answers in this API's error shape; the guarantee here is the unique
constraint (user, key) in PostgreSQL (accounts/models/idempotency.py).

How a request runs: the key row is inserted "in progress" and committed at once (the insert is
the lock: a concurrent twin fails on the constraint and sees the row). The view then runs in one
transaction together with the update that stores its response, so the view's writes and the
stored answer commit together or not at all: a crash mid-request leaves only the claim, which
another attempt takes over after DUBAN_IDEMPOTENCY_LOCK_SECONDS."""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.choices import IdempotencyKeyStatus
from accounts.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers that belong to one delivery of a response, not to the answer itself.
_NOT_REPLAYED = {"set-cookie", "content-length", "date", "server", "connection", "transfer-encoding", REPLAYED_HEADER.lower()}
# 408 and 429 say "try again later": storing them would make the retry fail forever.
_RETRYABLE_4XX = {408, 429}


def ttl() -> datetime.timedelta:
    return datetime.timedelta(hours=getattr(settings, "DUBAN_IDEMPOTENCY_KEY_TTL_HOURS", 24))


def lock_timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "DUBAN_IDEMPOTENCY_LOCK_SECONDS", 300))


def _error(status: int, code: str, detail: str, fields: dict | None = None) -> JsonResponse:
    """The API's one error shape (supervision/api/errors.py), for answers given before any view runs."""
    return JsonResponse(
        {"code": code, "detail": str(detail), "fields": fields or {}}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _key_problem(key: str) -> str | None:
    if not key:
        return _("幂等键不能为空。")
    if len(key) > MAX_KEY_LENGTH:
        return _("幂等键不能超过 %(n)s 个字符。") % {"n": MAX_KEY_LENGTH}
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in key):
        return _("幂等键只能由可见的 ASCII 字符组成（建议使用 UUID）。")
    return None


# ---------------------------------------------------------------------------------------------
# What "the same request" means


def _canonical_json(raw: bytes) -> bytes | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_digest(request) -> str:
    """A digest of what the request says, not of how it was framed: JSON with its keys sorted,
    multipart forms by field values and each file's name, size and content hash (the boundary
    changes on every retry). Reading the form here is safe: DRF reuses Django's parsed form."""
    digest = hashlib.sha256()
    content_type = (request.content_type or "").lower()
    if content_type == "multipart/form-data":
        for name in sorted(request.POST):
            digest.update(json.dumps(["field", name, request.POST.getlist(name)], ensure_ascii=False).encode("utf-8"))
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                content = hashlib.sha256()
                for chunk in upload.chunks():
                    content.update(chunk)
                upload.seek(0)
                digest.update(json.dumps(["file", name, upload.name, upload.size, content.hexdigest()]).encode("utf-8"))
        return digest.hexdigest()
    raw = request.body
    if content_type.endswith("json"):
        raw = _canonical_json(raw) or raw
    digest.update(raw)
    return digest.hexdigest()


def request_digest(request) -> str:
    identity = f"{request.method}\n{request.get_full_path()}\n{body_digest(request)}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# The principal


def authenticated_user(request, view_func):
    """The user DRF will see for this request, found with the view's own authenticators; None
    when the request is anonymous or its credentials fail (the view then answers 401/403 itself)."""
    view_class = getattr(view_func, "cls", None)
    if view_class is None or not issubclass(view_class, APIView):
        return None
    view = view_class(**getattr(view_func, "initkwargs", {}))
    drf_request = Request(request, authenticators=view.get_authenticators())
    try:
        user = drf_request.user
    except exceptions.APIException:
        return None
    return user if user is not None and user.is_authenticated else None


# ---------------------------------------------------------------------------------------------
# Claim, run, store, replay


@dataclass
class _Claimed:
    row: IdempotencyKey
    token: str


class _NotStored(Exception):
    """Leave the atomic block (rolling back the view's writes) with a response that is not kept."""

    def __init__(self, response):
        self.response = response


class _ClaimLost(Exception):
    """Another attempt took the key over while this one ran; this one's work must not commit."""


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(row.response_body), status=row.response_status)
    for name, value in (row.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _claim(*, user, key: str, digest: str, request) -> _Claimed | HttpResponse:
    """Insert the key row (committed at once, so a concurrent twin sees it), or answer from the
    row that is already there."""
    for _attempt in range(3):
        now = timezone.now()
        token = uuid.uuid4().hex
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=request.method,
                    path=request.get_full_path()[:1000],
                    request_digest=digest,
                    claim=token,
                    locked_at=now,
                    created_at=now,
                    expires_at=now + ttl(),
                )
            return _Claimed(row, token)
        except IntegrityError:
            pass  # the key exists: the constraint decided, read what it holds
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            continue  # released or purged in between: try to claim again
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.request_digest != digest:
            return _error(
                409,
                "idempotency_key_reused",
                _("该幂等键已用于另一个请求（%(method)s %(path)s），请为新的请求使用新的幂等键。")
                % {"method": existing.method, "path": existing.path},
            )
        if existing.status == IdempotencyKeyStatus.COMPLETED:
            return _replay(existing)
        if existing.locked_at <= now - lock_timeout():
            # The first attempt died without finishing (nothing of it committed): take over.
            taken = IdempotencyKey.objects.filter(
                pk=existing.pk, status=IdempotencyKeyStatus.IN_PROGRESS, claim=existing.claim
            ).update(claim=token, locked_at=now)
            if taken:
                existing.claim = token
                return _Claimed(existing, token)
            continue
        return _in_progress()
    return _in_progress()


def _in_progress() -> JsonResponse:
    return _error(409, "idempotency_key_in_progress", _("使用该幂等键的请求仍在处理中，请稍后重试。"))


def _storable(status: int) -> bool:
    return 200 <= status < 500 and status not in _RETRYABLE_4XX


def run_idempotent(*, user, key: str, digest: str, request, call_view) -> HttpResponse:
    claimed = _claim(user=user, key=key, digest=digest, request=request)
    if isinstance(claimed, HttpResponse):
        return claimed
    try:
        with transaction.atomic():
            response = call_view()
            if callable(getattr(response, "render", None)):
                response = response.render()
            if getattr(response, "streaming", False) or not _storable(response.status_code):
                raise _NotStored(response)
            headers = {name: value for name, value in response.items() if name.lower() not in _NOT_REPLAYED}
            stored = IdempotencyKey.objects.filter(
                pk=claimed.row.pk, claim=claimed.token, status=IdempotencyKeyStatus.IN_PROGRESS
            ).update(
                status=IdempotencyKeyStatus.COMPLETED,
                response_status=response.status_code,
                response_headers=headers,
                response_body=bytes(response.content),
                completed_at=timezone.now(),
            )
            if stored != 1:
                raise _ClaimLost()
    except _NotStored as not_stored:
        _release(claimed)
        return not_stored.response
    except _ClaimLost:
        return _in_progress()
    except BaseException:
        _release(claimed)
        raise
    return response


def _release(claimed: _Claimed) -> None:
    """Free the key so the client may retry (only if this attempt still holds it)."""
    IdempotencyKey.objects.filter(pk=claimed.row.pk, claim=claimed.token, status=IdempotencyKeyStatus.IN_PROGRESS).delete()


class IdempotencyKeyMiddleware:
    """Applies the Idempotency-Key rules above to every POST answered by a DRF view. Must come
    after AuthenticationMiddleware (session users) and CsrfViewMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or HEADER not in request.headers:
            return None
        user = authenticated_user(request, view_func)
        if user is None:
            return None  # nothing to scope the key to; the view refuses or serves anonymously
        key = request.headers[HEADER].strip()
        problem = _key_problem(key)
        if problem:
            return _error(400, "invalid_idempotency_key", _("幂等键无效。"), {HEADER: [problem]})
        try:
            digest = request_digest(request)
        except RequestDataTooBig:
            return _error(400, "request_too_large", _("请求体过大。"))
        except MultiPartParserError:
            return _error(400, "parse_error", _("请求体格式错误，无法解析。"))
        return run_idempotent(
            user=user, key=key, digest=digest, request=request, call_view=lambda: view_func(request, *view_args, **view_kwargs)
        )


# ---------------------------------------------------------------------------------------------
# Housekeeping


def idempotency_keys_purge(*, now: datetime.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete expired keys (by the expires_at index), a batch at a time so no long lock is held.
    Returns how many were deleted. Safe to run twice or concurrently: a delete of gone rows is a no-op."""
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(expires_at__lte=now).order_by("expires_at").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        deleted, _detail = IdempotencyKey.objects.filter(pk__in=ids, expires_at__lte=now).delete()
        total += deleted


# ---------------------------------------------------------------------------------------------
# OpenAPI (drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])

_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
    "description": (
        "幂等键（建议 UUID）。同一用户以同一幂等键重发同一请求（方法、路径、请求体相同）时，返回首次的响应"
        "（状态码与响应体相同，并带响应头 `Idempotent-Replayed: true`），不再重复执行；"
        "同一幂等键用于不同请求返回 409 `idempotency_key_reused`；首次请求仍在处理时返回 409 `idempotency_key_in_progress`。"
        "5xx 不保存（可直接重试），4xx 保存。幂等键 24 小时后失效。"
    ),
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "detail", "fields"],
}


def document_idempotency_key(result, generator, request, public):
    """Add the Idempotency-Key header, its 400/409 answers and the replay header to every POST."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiError", _ERROR_SCHEMA)
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    for operations in result.get("paths", {}).values():
        operation = operations.get("post")
        if operation is None or operation.get("security") in ([{}], []):
            continue  # anonymous-only operations (sign-in): a key has no principal to belong to
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
            parameters.append(dict(_PARAMETER))
        responses = operation.setdefault("responses", {})
        for code, response in responses.items():
            if str(code).startswith("2"):
                response.setdefault("headers", {})[REPLAYED_HEADER] = {
                    "schema": {"type": "string", "enum": ["true"]},
                    "description": "按幂等键重放的响应带此响应头",
                }
        responses.setdefault("400", {"description": "请求参数有误（含幂等键格式错误）", "content": error_ref})
        conflict = responses.setdefault("409", {"description": "冲突", "content": error_ref})
        conflict["description"] = (
            conflict.get("description", "")
            + "；幂等键已用于其他请求（idempotency_key_reused）或仍在处理中（idempotency_key_in_progress）"
        ).lstrip("；")
    return result
