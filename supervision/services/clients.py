"""Integration clients (对接系统: OA systems calling the API with a key): created, edited and their
keys rotated by administrators, each change audited. A new key is shown once, when it is issued;
only its digest is stored (accounts/integration.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.choices import Classification, IntegrationOperation, Role
from accounts.integration import digest_of, new_key
from accounts.models import IntegrationClient, RoleAssignment, Unit, User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted


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
    whole_ledger: bool = False,
) -> IssuedKey:
    """Register an OA system: its service account (office staff of `unit`, so intake runs through
    the same permission checks as a person), its allowed operations and a fresh key. It reads only
    the items its unit leads or supports (and what it pushed itself) unless `whole_ledger` is
    granted here or later by an administrator (rule 13; the grant is in the audit event)."""
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": [_("请填写名称。")]})
    if IntegrationClient.objects.filter(name=name).exists():
        raise InvalidInput(fields={"name": [_("已有同名的对接系统。")]})
    ops = _check_operations(operations)
    prefix, key = new_key()
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
        name=name,
        unit=unit,
        user=user,
        operations=ops,
        key_prefix=prefix,
        key_digest=digest_of(key),
        note=note,
        whole_ledger=bool(whole_ledger),
    )
    audit_record(
        actor=actor,
        action="integration_client_create",
        obj=client,
        data={"name": name, "unit": unit.pk, "operations": ops, "whole_ledger": client.whole_ledger},
    )
    return IssuedKey(client, key)


@transaction.atomic
def integration_client_update(
    *,
    actor: User,
    client: IntegrationClient,
    operations: list[str] | None = None,
    is_active: bool | None = None,
    note=None,
    whole_ledger: bool | None = None,
) -> IntegrationClient:
    """Change a client's operations, state or note, or grant / withdraw whole-ledger reach (the
    audit event names the grant: `integration_client_whole_ledger_granted` / `_withdrawn`)."""
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    client = IntegrationClient.objects.select_for_update().get(pk=client.pk)
    before = {"operations": client.operations, "is_active": client.is_active, "whole_ledger": client.whole_ledger}
    if operations is not None:
        client.operations = _check_operations(operations)
    if is_active is not None:
        client.is_active = is_active
        # A disabled client's service account is disabled too, so no session or token survives it.
        User.objects.filter(pk=client.user_id).update(is_active=is_active)
    if note is not None:
        client.note = note
    if whole_ledger is not None:
        client.whole_ledger = bool(whole_ledger)
    client.save()
    after = {"operations": client.operations, "is_active": client.is_active, "whole_ledger": client.whole_ledger}
    action = "integration_client_update"
    if before["whole_ledger"] != client.whole_ledger:
        action = "integration_client_whole_ledger_granted" if client.whole_ledger else "integration_client_whole_ledger_withdrawn"
    audit_record(actor=actor, action=action, obj=client, data={"before": before, "after": after})
    return client


@transaction.atomic
def integration_client_rotate_key(*, actor: User, client: IntegrationClient) -> IssuedKey:
    """Issue a new key; the old one stops working at once."""
    if not _may_manage(actor):
        raise NotPermitted(_("只有系统管理员可以管理对接系统。"))
    client = IntegrationClient.objects.select_for_update().get(pk=client.pk)
    prefix, key = new_key()
    client.key_prefix, client.key_digest, client.key_rotated_at = prefix, digest_of(key), timezone.now()
    client.save(update_fields=["key_prefix", "key_digest", "key_rotated_at"])
    audit_record(actor=actor, action="integration_client_rotate_key", obj=client)
    return IssuedKey(client, key)
