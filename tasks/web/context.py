"""The unread count in every page's header (base.html)."""

from __future__ import annotations

from django.http import HttpRequest

from tasks import selectors


def inbox(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: pages that do not render the header (downloads, htmx fragments) never count.
    return {"inbox_unread": lambda: selectors.inbox_unread_count(user=user)}
