"""Reads of the notification outbox, scoped to the requesting user."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.choices import Role
from accounts.models import IntegrationClient, User
from supervision.models import Item
from supervision.querysets import item_absent_or_visible
from tasks.models import Delivery, Notification, WebhookDelivery, WebhookSubscription


def _own_visible(user: User) -> QuerySet[Notification]:
    """A user's own messages, and of those about an item only while the item is still visible to
    them (a lowered clearance or a unit change must not leave a title readable in the inbox)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(item_absent_or_visible(user), recipient_id=user.pk)


def inbox_list(*, user: User) -> QuerySet[Notification]:
    """A user's own messages, newest first. Nobody reads someone else's inbox."""
    return _own_visible(user).select_related("item")


def inbox_unread(*, user: User) -> QuerySet[Notification]:
    """The user's unread messages, as the inbox shows them (the header counts them, 全部已读 marks them)."""
    return _own_visible(user).filter(read_at__isnull=True)


def inbox_unread_count(*, user: User) -> int:
    return inbox_unread(user=user).count()


def delivery_list(*, user: User) -> QuerySet[Delivery]:
    """Deliveries for the operators (office staff, administrators). A delivery about an item the
    operator may not see is hidden too, through the ledger's one visibility rule."""
    if not user.is_authenticated or not user.is_office:
        return Delivery.objects.none()
    visible = item_absent_or_visible(user, "notification__item")
    # Newest change first: for ?status=dead that is the newest failure (index delivery_dead_letter).
    return (
        Delivery.objects.filter(visible)
        .select_related("notification__recipient", "notification__item")
        .order_by("-updated_at", "-pk")
    )


# Reads of the webhook outbox, scoped to the requesting user (a client or an operator).


def _own_client(user: User) -> IntegrationClient | None:
    if not user.is_authenticated:
        return None
    return IntegrationClient.objects.filter(user_id=user.pk).first()


def webhook_subscription_list(*, user: User) -> QuerySet[WebhookSubscription]:
    """A client sees only its own subscriptions; system administrators see all; others none."""
    base = WebhookSubscription.objects.select_related("client").order_by("pk")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    client = _own_client(user)
    if client is not None:
        return base.filter(client=client)
    if user.is_superuser or user.has_role(Role.ADMINISTRATOR):
        return base
    return base.none()


def webhook_delivery_list(*, user: User) -> QuerySet[WebhookDelivery]:
    """A client: its own deliveries. Operators (office staff, administrators): all of them. Either
    way only about items the viewer may see now (the one visibility rule), newest change first
    (for ?status=dead that is the newest failure, index webhook_delivery_dead)."""
    qs = WebhookDelivery.objects.select_related("subscription__client", "item").order_by("-updated_at", "-pk")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    client = _own_client(user)
    if client is not None:
        qs = qs.filter(subscription__client=client)
    elif not user.is_office:
        return qs.none()
    return qs.filter(item__in=Item.objects.visible_to(user).values("pk"))
