"""Integration clients (对接系统): API keys for OA systems, their service accounts, and the
services that create, re-key and disable them.

A key looks like "dbk_<prefix>_<secret>". Only the SHA-256 digest is stored: keys are 256-bit
random secrets, so a fast digest is as safe as a slow password hash and costs nothing per call.
The prefix (public, indexed) finds the row; the digest is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.choices import Classification, IntegrationOperation, Role
from accounts.models import IntegrationClient, RoleAssignment, Unit, User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted

KEY_SCHEME = "dbk"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str]:
    """(prefix, full key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def client_for_key(key: str) -> IntegrationClient | None:
    """The active client a presented key belongs to, or None (unknown, wrong or disabled key)."""
    parts = (key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1]:
        return None
    client = IntegrationClient.objects.select_related("user", "unit").filter(key_prefix=parts[1]).first()
    if client is None or not hmac.compare_digest(client.key_digest, _digest(key.strip())):
        return None
    if not client.is_active or not client.user.is_active:
        return None
    return client


def _may_manage(actor: User) -> bool:
    return actor.is_superuser or actor.has_role(Role.ADMINISTRATOR)


def _check_operations(operations) -> list[str]:
    valid = set(IntegrationOperation.values)
    ops = list(dict.fromkeys(operations or []))
    bad = [op for op in ops if op not in valid]
    if bad or not ops:
        raise InvalidInput(
            fields={"operations": [_("请至少选择一项允许的操作；无效的操作：%(ops)s") % {"ops": "、".join(bad) or "无"}]}
        )
    return ops


@dataclass(frozen=True)
class IssuedKey:
    client: IntegrationClient
    key: str  # shown to the administrator once, never stored


@transaction.atomic
def integration_client_create(
    *,
    actor: User,
    name: str,
    unit: Unit,
    operations: list[str],
    clearance: int = Classification.INTERNAL,
    note: str = "",
) -> IssuedKey:
    """Register an OA system: its service account (office staff of `unit`, so intake runs through
    the same permission checks as a person), its allowed operations and a fresh key."""
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": [_("请填写名称。")]})
    if IntegrationClient.objects.filter(name=name).exists():
        raise InvalidInput(fields={"name": [_("已有同名的对接系统。")]})
    ops = _check_operations(operations)
    prefix, key = _new_key()
    user = User(
        username=f"oa-{slugify(name, allow_unicode=False)[:20] or 'client'}-{prefix}",
        full_name=_("对接系统：%(name)s") % {"name": name},
        unit=unit,
        clearance=clearance,
        title=_("对接系统服务账号"),
    )
    user.set_unusable_password()  # a service account never signs in with a password
    user.save()
    RoleAssignment.objects.create(user=user, role=Role.OFFICE_STAFF)
    client = IntegrationClient.objects.create(
        name=name, unit=unit, user=user, operations=ops, key_prefix=prefix, key_digest=_digest(key), note=note
    )
    audit_record(
        actor=actor, action="integration_client_create", obj=client, data={"name": name, "unit": unit.pk, "operations": ops}
    )
    return IssuedKey(client, key)


@transaction.atomic
def integration_client_update(
    *, actor: User, client: IntegrationClient, operations: list[str] | None = None, is_active: bool | None = None, note=None
) -> IntegrationClient:
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    client = IntegrationClient.objects.select_for_update().get(pk=client.pk)
    before = {"operations": client.operations, "is_active": client.is_active}
    if operations is not None:
        client.operations = _check_operations(operations)
    if is_active is not None:
        client.is_active = is_active
        # A disabled client's service account is disabled too, so no session or token survives it.
        User.objects.filter(pk=client.user_id).update(is_active=is_active)
    if note is not None:
        client.note = note
    client.save()
    audit_record(
        actor=actor,
        action="integration_client_update",
        obj=client,
        data={"before": before, "after": {"operations": client.operations, "is_active": client.is_active}},
    )
    return client


@transaction.atomic
def integration_client_rotate_key(*, actor: User, client: IntegrationClient) -> IssuedKey:
    """Issue a new key; the old one stops working at once."""
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    client = IntegrationClient.objects.select_for_update().get(pk=client.pk)
    prefix, key = _new_key()
    client.key_prefix, client.key_digest, client.key_rotated_at = prefix, _digest(key), timezone.now()
    client.save(update_fields=["key_prefix", "key_digest", "key_rotated_at"])
    audit_record(actor=actor, action="integration_client_rotate_key", obj=client)
    return IssuedKey(client, key)


def integration_client_touch(client: IntegrationClient) -> None:
    """Record use at most once a minute: a busy OA system must not turn every read into a write."""
    now = timezone.now()
    if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
        IntegrationClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
