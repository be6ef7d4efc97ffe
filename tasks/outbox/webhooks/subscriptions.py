"""Webhook subscriptions: who manages them, the target URL and the address guard, and the audited
writes (create, update, rotate the secret). The secret is shown once, when it is issued."""

from __future__ import annotations

import ipaddress
import secrets
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import IntegrationClient, User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted
from tasks.choices import WebhookEventType
from tasks.models import WebhookSubscription

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class IssuedSecret:
    subscription: WebhookSubscription
    secret: str  # shown once to whoever created or rotated it; stored only to sign


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def is_service_account(user: User) -> bool:
    return IntegrationClient.objects.filter(user_id=user.pk).exists()


def _may_manage(actor: User, client: IntegrationClient) -> bool:
    """The client itself (its service account) or a system administrator."""
    if actor.pk == client.user_id:
        return True
    return actor.is_active and (actor.is_superuser or actor.has_role(Role.ADMINISTRATOR)) and not is_service_account(actor)


# ---------------------------------------------------------------------------------------------
# The address guard: checked when a URL is saved, and again on every send (delivery.py), since
# DNS may change in between.


def refused_address(host: str) -> bool:
    """Loopback, link-local (cloud metadata), multicast, unspecified and reserved addresses."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost")
    return address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved


def allow_loopback() -> bool:
    return bool(getattr(settings, "DUBAN_WEBHOOK_ALLOW_LOOPBACK", False))


def clean_target_url(value: str | None) -> str:
    """An absolute http(s) URL without credentials, not aimed at this server's own network.
    Intranet (private) addresses are allowed: OA systems usually live there."""
    url = (value or "").strip()
    problem = None
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        problem = _("请填写以 http:// 或 https:// 开头的完整地址。")
    if problem is None and len(url) > 500:
        problem = _("地址不能超过 500 个字符。")
    if problem is None:
        parts = urllib.parse.urlsplit(url)
        if parts.username or parts.password:
            problem = _("地址中不能包含用户名或密码。")
        elif not allow_loopback() and refused_address(parts.hostname or ""):
            problem = _("不能向本机、链路本地或保留地址推送事件。")
    if problem:
        raise InvalidInput(fields={"target_url": [problem]})
    return url


def clean_event_types(values) -> list[str]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        values = []
    chosen = list(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in WebhookEventType.values]
    if unknown or not chosen:
        raise InvalidInput(
            fields={
                "event_types": [_("请至少选择一种事件；无效的事件：%(names)s") % {"names": "、".join(map(str, unknown)) or "无"}]
            }
        )
    return chosen


# ---------------------------------------------------------------------------------------------
# Writes


def _subscription_data(subscription: WebhookSubscription) -> dict:
    # Never the secret: the audit trail is read by many.
    return {
        "client_id": subscription.client_id,
        "target_url": subscription.target_url,
        "event_types": subscription.event_types,
        "is_active": subscription.is_active,
    }


@transaction.atomic
def webhook_subscription_create(
    *, actor: User, client: IntegrationClient, target_url: str, event_types: list[str], description: str = ""
) -> IssuedSecret:
    """Subscribe `client` to events; returns the new secret, which is never shown again."""
    if not _may_manage(actor, client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    subscription = WebhookSubscription(
        client=client,
        target_url=clean_target_url(target_url),
        event_types=clean_event_types(event_types),
        description=(description or "").strip()[:200],
        secret=_new_secret(),
    )
    subscription.save()
    audit_record(actor=actor, action="webhook_subscription_created", obj=subscription, data=_subscription_data(subscription))
    return IssuedSecret(subscription, subscription.secret)


@transaction.atomic
def webhook_subscription_update(
    *,
    actor: User,
    subscription: WebhookSubscription,
    target_url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    """Change where and what a subscription receives, or switch it off (deliveries still open then
    are dead-lettered at their next attempt and can be replayed after it is switched on again)."""
    locked = WebhookSubscription.objects.select_for_update().select_related("client").get(pk=subscription.pk)
    if not _may_manage(actor, locked.client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    before = _subscription_data(locked)
    if target_url is not None:
        locked.target_url = clean_target_url(target_url)
    if event_types is not None:
        locked.event_types = clean_event_types(event_types)
    if is_active is not None:
        locked.is_active = bool(is_active)
    if description is not None:
        locked.description = description.strip()[:200]
    after = _subscription_data(locked)
    if after == before and description is None:
        return locked
    locked.save()
    audit_record(actor=actor, action="webhook_subscription_updated", obj=locked, data={"before": before, "after": after})
    return locked


@transaction.atomic
def webhook_subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> IssuedSecret:
    """A new secret signs every attempt from now on, retries of older events included."""
    locked = WebhookSubscription.objects.select_for_update().select_related("client").get(pk=subscription.pk)
    if not _may_manage(actor, locked.client):
        raise NotPermitted(_("只有对接系统本身或系统管理员可以管理事件订阅。"), code="webhook_manage_denied")
    locked.secret = _new_secret()
    locked.secret_rotated_at = timezone.now()
    locked.save(update_fields=["secret", "secret_rotated_at", "updated_at"])
    audit_record(actor=actor, action="webhook_secret_rotated", obj=locked, data={"client_id": locked.client_id})
    return IssuedSecret(locked, locked.secret)
