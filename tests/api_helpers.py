"""Helpers for API tests: real token authentication, the error shape, Chinese text checks."""

from __future__ import annotations

import re

from knox.models import AuthToken
from rest_framework.test import APIClient

CJK = re.compile(r"[\u4e00-\u9fff]")


def client_for(user) -> APIClient:
    """An API client that signs in with the user's token, as an OA system or script would."""
    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_error(response, status: int, *, code: str | None = None, field: str | None = None):
    """The API's one error shape, with a Chinese message (for the field, when one is named)."""
    assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    body = response.json()
    assert set(body) == {"code", "detail", "fields"}, body
    assert CJK.search(body["detail"]), body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert field in body["fields"], body
        assert all(CJK.search(m) for m in body["fields"][field]), body
    return body
