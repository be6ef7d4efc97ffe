"""The audit trail, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from supervision.admin.base import ReadOnlyAdminMixin
from supervision.choices import ACTION_LABELS, TRANSITION_STATUS_LABELS, action_label
from supervision.models import AuditEvent
from supervision.querysets import audit_events_visible_to


class ActionFilter(admin.SimpleListFilter):
    """Filter by action, listed by its Chinese name."""

    title = _("操作")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(code, label) for code, label in ACTION_LABELS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The hash-chained audit trail: read-only, never deleted (`manage.py verify_audit` checks it).
    Actions and statuses are shown in Chinese (choices.ACTION_LABELS); the codes stay stored."""

    list_display = (
        "seq",
        "occurred_at",
        "actor_name",
        "action_name",
        "object_type",
        "object_id",
        "item",
        "from_status_name",
        "to_status_name",
    )
    list_filter = (ActionFilter, "object_type")
    search_fields = ("actor_name", "action", "item__code", "comment")
    list_select_related = ("item",)
    fields = (
        "seq",
        "occurred_at",
        "actor",
        "actor_name",
        "action",
        "action_name",
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

    @admin.display(description=_("操作"), ordering="action")
    def action_name(self, event) -> str:
        return action_label(event.action)

    @admin.display(description=_("原状态"))
    def from_status_name(self, event) -> str:
        return str(TRANSITION_STATUS_LABELS.get(event.from_status, event.from_status))

    @admin.display(description=_("新状态"))
    def to_status_name(self, event) -> str:
        return str(TRANSITION_STATUS_LABELS.get(event.to_status, event.to_status))

    def get_queryset(self, request):
        # The API's rule, superusers included: no event of an item, instruction or notice above the
        # user's clearance, in the list, its search or a change page.
        return audit_events_visible_to(request.user, super().get_queryset(request))
