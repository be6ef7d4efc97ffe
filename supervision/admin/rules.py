"""The office's timing rules, edited by the office in the admin: reminder policies (催办规则) and
warning-light thresholds; every save goes through a service (audited, open items rescheduled)."""

from __future__ import annotations

from django.contrib import admin

from supervision import services
from supervision.models import (
    FigureRules,
    ReminderPolicy,
    ReminderStep,
    WarningThreshold,
)


class OfficeEditableAdminMixin:
    """Settings the supervision office maintains: staff may look, office staff may change."""

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_staff or request.user.is_office)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and (request.user.is_staff or request.user.is_office)

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_office

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office


class ReminderStepInline(admin.TabularInline):
    model = ReminderStep
    extra = 0


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    """催办规则, editable by the office; open items are rescheduled after a change."""

    list_display = ("name", "urgency", "category", "acknowledge_within_hours", "send_time", "is_active")
    list_filter = ("urgency", "is_active")
    inlines = (ReminderStepInline,)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    def save_related(self, request, form, formsets, change):
        # The admin's change view runs in one transaction: the policy, its steps and the audit
        # event land together, and open items are rescheduled after commit.
        super().save_related(request, form, formsets, change)
        services.reminder_policy_changed(actor=request.user, policy=form.instance)

    def delete_model(self, request, obj):
        services.reminder_policy_changed(actor=request.user, policy=obj, deleted=True)
        super().delete_model(request, obj)


@admin.register(WarningThreshold)
class WarningThresholdAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    """Editable by the office; saving goes through the service, which reschedules open items."""

    list_display = ("urgency", "yellow_share", "yellow_workdays")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.warning_threshold_save(actor=request.user, threshold=obj)


@admin.register(FigureRules)
class FigureRulesAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    """停滞 (N reports unchanged, grace days) and the 考核 weights: one row, saved through the service."""

    fieldsets = (
        ("停滞", {"fields": ("stale_unchanged_reports", "stale_grace_days", "stale_default_cycle_days")}),
        (
            "考核权重",
            {
                "fields": (
                    "score_base",
                    "score_on_time_rate",
                    "score_overdue",
                    "score_stale",
                    "score_relapsed",
                    "score_praise",
                    "score_criticism",
                    "score_accountability",
                )
            },
        ),
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not FigureRules.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.figure_rules_save(actor=request.user, rules=obj)
