"""站内信 as a page: the user's own messages, unread first; mark one read in place (htmx) or all.
Reads through tasks.selectors (only the user's own, only about items still visible to them),
writes through the outbox's services, as the API does."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tasks import selectors
from tasks.outbox import notifications

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
