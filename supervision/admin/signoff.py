"""Sign-off settings, edited by the office in the admin: who signs for a unit besides its head
(单位签字人), and the office's own switches (督查室设置: the 督查室主任's approval before
assignment). Every save is recorded in the audit trail through a service."""

from __future__ import annotations

from django.contrib import admin

from supervision import services
from supervision.admin.rules import OfficeEditableAdminMixin
from supervision.models import OfficeSettings, UnitApprover


@admin.register(UnitApprover)
class UnitApproverAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    """单位签字人: deputies who sign a unit's requests and overdue explanations besides its head."""

    list_display = ("unit", "user", "note", "created_at")
    list_filter = ("unit",)
    search_fields = ("unit__name", "user__full_name", "user__username")
    list_select_related = ("unit", "user")
    autocomplete_fields = ("unit", "user")

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.unit_approver_changed(actor=request.user, approver=obj)

    def delete_model(self, request, obj):
        services.unit_approver_changed(actor=request.user, approver=obj, deleted=True)
        super().delete_model(request, obj)


@admin.register(OfficeSettings)
class OfficeSettingsAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    """督查室设置: one row."""

    list_display = ("__str__", "director_approval_required", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not OfficeSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.office_settings_saved(actor=request.user, settings_row=obj)
