"""Reads of the notification outbox, scoped to the requesting user."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from supervision.models import Item

from .models import Delivery, Notification


def inbox_list(*, user: User) -> QuerySet[Notification]:
    """A user's own messages, newest first. Nobody reads someone else's inbox."""
    return Notification.objects.filter(recipient_id=user.pk).select_related("item")


def inbox_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def delivery_list(*, user: User) -> QuerySet[Delivery]:
    """Deliveries for the operators (office staff, administrators). A delivery about an item the
    operator may not see is hidden too, through the ledger's one visibility rule."""
    if not user.is_authenticated or not user.is_office:
        return Delivery.objects.none()
    visible = Q(notification__item__isnull=True) | Q(notification__item__in=Item.objects.visible_to(user).values("pk"))
    # Newest change first: for ?status=dead that is the newest failure (index delivery_dead_letter).
    return (
        Delivery.objects.filter(visible)
        .select_related("notification__recipient", "notification__item")
        .order_by("-updated_at", "-pk")
    )
