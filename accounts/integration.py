"""API keys of integration clients (OA systems): how a key is made and stored (only its SHA-256
digest) and how a request's key finds its client. Creating, editing and rotating clients are
audited writes in supervision/services/clients.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from accounts.models import IntegrationClient

KEY_SCHEME = "dbk"


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """(prefix, full key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def client_for_key(key: str) -> IntegrationClient | None:
    """The active client a presented key belongs to, or None (unknown, wrong or disabled key)."""
    parts = (key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1]:
        return None
    client = IntegrationClient.objects.select_related("user", "unit").filter(key_prefix=parts[1]).first()
    if client is None or not hmac.compare_digest(client.key_digest, digest_of(key.strip())):
        return None
    if not client.is_active or not client.user.is_active:
        return None
    return client


def integration_client_touch(client: IntegrationClient) -> None:
    """Record use at most once a minute: a busy OA system must not turn every read into a write."""
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        IntegrationClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
