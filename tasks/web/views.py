"""站内信 as a page: the user's own messages, unread first; mark one read in place (htmx) or all.
Reads through tasks.selectors (only the user's own, only about items still visible to them),
writes through the outbox's services, as the API does. And 消息接收方式: per channel, immediate
messages or the daily digest, within what the office allows (tasks/outbox/preferences.py)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from supervision.errors import DomainError
from tasks import selectors
from tasks.choices import DeliveryMode
from tasks.outbox import notifications, preferences

PAGE_SIZE = 30


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    messages = selectors.inbox_list(user=request.user).order_by(F("read_at").desc(nulls_first=True), "-created_at", "-pk")
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/inbox.html", {"page": page, "rows": page.object_list})


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = selectors.inbox_list(user=request.user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    notification = notifications.notification_mark_read(user=request.user, notification=notification)
    if request.headers.get("HX-Request"):
        unread = selectors.inbox_unread_count(user=request.user)
        return render(request, "inbox/_row.html", {"n": notification, "unread": unread, "oob": True})
    return redirect("inbox")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications.notification_mark_all_read(user=request.user)
    return redirect("inbox")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """The person's own choice per channel; a channel the office decides for everyone is shown with
    its rule and cannot be changed (the service refuses it too). Only changed channels are sent."""
    channels = preferences.notification_preferences(user=request.user)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        modes = {
            c.channel: request.POST[c.channel]
            for c in channels
            if c.channel in request.POST and request.POST[c.channel] != c.mode
        }
        try:
            preferences.notification_preferences_set(actor=request.user, user=request.user, modes=modes)
        except DomainError as exc:
            errors = {k: [str(m) for m in v] for k, v in (getattr(exc, "fields", None) or {}).items()}
            errors = errors or {"": [str(exc.message)]}
            status = exc.status_code
        else:
            flash.success(request, _("消息接收方式已保存。") if modes else _("消息接收方式没有变化。"))
            return redirect("notification-settings")
    context = {
        "channels": channels,
        "modes": DeliveryMode.choices,
        "digest_time": preferences.digest_send_time(),
        "errors": errors,
    }
    return render(request, "inbox/settings.html", context, status=status)
