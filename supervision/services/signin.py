"""The ledger's side of signing in (accounts/signin.py, accounts/tokens.py): lockouts and unlocks
go into the audit chain, an administrator unlocks and revokes tokens through audited services, and
a locked-out sign-in gets the API's error shape (supervision/api/errors.py). Kept here because
accounts does not import supervision; `SupervisionConfig.ready()` connects the lockout receiver."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from knox.models import AuthToken

from accounts.models import User
from accounts.signin import lockout_parameters
from accounts.tokens import tokens_revoke
from supervision.audit import audit_record
from supervision.errors import NotPermitted


def _user_named(username: str | None) -> User | None:
    return User.objects.filter(username=username).first() if username else None


def signin_lockout_record(*, request: HttpRequest, username: str | None, ip_address: str | None) -> None:
    """Audit a lockout when it begins (receiver of django-axes' `user_locked_out`). Axes sends the
    signal again for every attempt refused while locked; those are not events, and only the attempt
    whose failure was counted (axes then sets `axes_failures_since_start`) records one."""
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    limit = settings.AXES_FAILURE_LIMIT
    found = lockout_parameters(username=username, address=ip_address)
    locked_by = sorted(name for name, p in found.items() if p["failures"] >= limit)
    user = _user_named(username)
    with transaction.atomic():
        obj = user or AccessAttempt.objects.filter(username=username, ip_address=ip_address).order_by("-attempt_time").first()
        if obj is None:
            return
        audit_record(
            actor=None,
            action="signin_locked_out",
            obj=obj,
            comment=_("连续登录失败 %(n)s 次，已暂时锁定。") % {"n": limit},
            data={
                "username": username,
                "ip_address": ip_address,
                "locked_by": locked_by,
                "failures": {name: p["failures"] for name, p in found.items()},
                "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
                "path": request.path,
            },
        )


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    if request is not None:
        signin_lockout_record(request=request, username=username, ip_address=ip_address)


def _require_admin(actor: User, permission: str) -> None:
    if not (actor.is_active and (actor.is_superuser or actor.has_perm(permission))):
        raise NotPermitted(_("只有管理员可以执行此操作。"))


@transaction.atomic
def signin_unlock(*, actor: User, attempts: QuerySet[AccessAttempt]) -> int:
    """Unlock: delete the failed-attempt records (each username–address pair), one audit event per
    record, on the user it names when there is one. Returns how many records were deleted."""
    _require_admin(actor, "accounts.delete_signinfailure")
    # The library's model, whichever proxy the caller holds: the audit names one object type.
    rows = list(AccessAttempt.objects.filter(pk__in=attempts.values("pk")).select_for_update().order_by("pk"))
    users = {u.username: u for u in User.objects.filter(username__in={a.username for a in rows if a.username})}
    for attempt in rows:
        audit_record(
            actor=actor,
            action="signin_unlocked",
            obj=users.get(attempt.username) or attempt,
            comment=_("管理员解除登录锁定。"),
            data={
                "username": attempt.username,
                "ip_address": attempt.ip_address,
                "failures": attempt.failures_since_start,
                "last_failure_at": attempt.attempt_time,
            },
        )
    AccessAttempt.objects.filter(pk__in=[a.pk for a in rows]).delete()
    return len(rows)


@transaction.atomic
def signin_tokens_revoke(*, actor: User, tokens: QuerySet[AuthToken]) -> int:
    """An administrator revokes API tokens: one audit event per user whose tokens were revoked."""
    _require_admin(actor, "accounts.delete_apitoken")
    by_user: dict[int, list[AuthToken]] = {}
    for token in tokens.select_related("user").order_by("user_id", "created"):
        by_user.setdefault(token.user_id, []).append(token)
    revoked = 0
    for owned in by_user.values():
        user = owned[0].user
        count = sum(tokens_revoke(user=user, token=t) for t in owned)
        audit_record(
            actor=actor, action="signin_tokens_revoked", obj=user, comment=_("管理员注销登录令牌。"), data={"tokens": count}
        )
        revoked += count
    return revoked
