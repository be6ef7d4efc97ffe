"""The audit trail, read-only."""

from __future__ import annotations

from django.contrib import admin

from supervision.admin.base import ReadOnlyAdminMixin
from supervision.models import (
    AuditEvent,
    Item,
)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The hash-chained audit trail: read-only, never deleted (`manage.py verify_audit` checks it)."""

    list_display = ("seq", "occurred_at", "actor_name", "action", "object_type", "object_id", "item", "from_status", "to_status")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "action", "item__code", "comment")
    list_select_related = ("item",)
    fields = (
        "seq",
        "occurred_at",
        "actor",
        "actor_name",
        "action",
        "object_type",
        "object_id",
        "item",
        "from_status",
        "to_status",
        "comment",
        "data",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # Events about items the user cannot see stay hidden; office staff see the whole trail.
        qs = super().get_queryset(request)
        if request.user.is_office:
            return qs
        return qs.filter(item__in=Item.objects.visible_to(request.user))
