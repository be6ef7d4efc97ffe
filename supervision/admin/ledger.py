"""Admin for the ledger.

Ledger state changes only through `supervision.services` (STYLE.md habit 1), so:
- instructions are added and edited through `instruction_create` / `instruction_update`
  (the audit chain records them, with the signed-in user as actor); they are never deleted here;
- items, their assignments, reports, requests, return visits and referrals are view-only here:
  the workflow (交办、签收、反馈、延期、销号、回访) runs through the API, which calls the services;
- audit events are view-only and cannot be deleted.
Every list is scoped by the same visibility rule as the API (`visible_to`), so classified
records stay hidden from staff without clearance."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from supervision import services
from supervision.admin.base import OfficeMaintainedAdminMixin, ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin
from supervision.choices import Light
from supervision.models import (
    Attachment,
    Category,
    DeadlineSpan,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    ProgressReport,
    Referral,
    ReturnVisit,
)
from supervision.querysets import referrals_visible_to, reports_visible_to, requests_visible_to


@admin.register(Category)
class CategoryAdmin(OfficeMaintainedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("name",)


class InstructionAdminForm(forms.ModelForm):
    # Optimistic locking: the version the form was opened on; a stale save is refused (412 in the API).
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Instruction
        fields = services.INSTRUCTION_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
        if "issuing_leader" in self.fields:
            self.fields["issuing_leader"].queryset = (
                self.fields["issuing_leader"].queryset.filter(role_assignments__role=Role.LEADER).distinct()
            )


class InstructionAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    fk_name = "instruction"
    fields = ("original_name", "content_type", "size", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0


@admin.register(Instruction)
class InstructionAdmin(ServiceErrorsAsMessagesMixin, admin.ModelAdmin):
    form = InstructionAdminForm
    list_display = ("title", "kind", "nature", "issuing_leader", "document_number", "issued_on", "classification", "created_by")
    list_filter = ("kind", "nature", "classification", "issued_on")
    search_fields = ("title", "document_number")
    list_select_related = ("issuing_leader", "created_by")
    date_hierarchy = "issued_on"
    inlines = (InstructionAttachmentInline,)
    fields = (*services.INSTRUCTION_FIELDS, "expected_version")

    def get_queryset(self, request):
        return Instruction.objects.visible_to(request.user).select_related("issuing_leader", "created_by")

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_office

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.INSTRUCTION_FIELDS if name in form.cleaned_data}
        if change:
            saved = services.instruction_update(
                actor=request.user,
                instruction=obj,
                expected_version=form.cleaned_data.get("expected_version"),
                **data,
            )
        else:
            saved = services.instruction_create(actor=request.user, **data)
        # The admin goes on with `obj` (messages, log entry, redirect): give it the saved row.
        obj.pk = saved.pk
        obj.version = saved.version
        obj.created_by_id = saved.created_by_id
        obj.created_at = saved.created_at


class AssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ItemAssignment
    fields = ("unit", "role", "acknowledged_at", "acknowledged_by", "may_view_all_reports")
    readonly_fields = fields
    extra = 0


class ReportInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = ProgressReport
    fields = ("unit", "kind", "progress", "progress_text", "results", "problems", "next_steps", "submitted_by", "submitted_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return reports_visible_to(request.user, super().get_queryset(request))


class RequestInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ItemRequest
    fields = ("kind", "status", "reason", "requested_deadline", "requested_by", "requested_at", "decided_by", "decision_comment")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return requests_visible_to(request.user, super().get_queryset(request))


class ReturnVisitInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReturnVisit
    fields = ("visited_on", "result", "findings", "visited_by")
    readonly_fields = fields
    extra = 0


class DeadlineSpanInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The deadline history the figures count past month ends with; written by the services only."""

    model = DeadlineSpan
    fields = ("deadline", "valid_from", "valid_until", "source", "request")
    readonly_fields = fields
    extra = 0


class ReferralInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Referral
    fields = (
        "department",
        "reason",
        "referred_by",
        "referred_at",
        "acknowledged_at",
        "outcome",
        "outcome_text",
        "outcome_recorded_at",
    )
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return referrals_visible_to(request.user, super().get_queryset(request))


@admin.register(Item)
class ItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """View-only: the item workflow runs through the services (API), never by editing rows."""

    list_display = ("code", "title", "lead_unit", "owner", "deadline", "status", "urgency", "light_display")
    list_filter = ("status", "urgency", "classification", "category", "instruction__kind", "deadline")
    search_fields = ("code", "title")
    list_select_related = ("lead_unit", "owner")
    fields = (
        "code",
        "title",
        "instruction",
        "category",
        "requirement",
        "lead_unit",
        "owner",
        "deadline",
        "deadline_time",
        "deadline_workdays",
        "original_deadline",
        "warning_date",
        "next_reminder_at",
        "listed_for_supervision_at",
        "extension_count",
        "urgency",
        "reporting_cycle",
        "classification",
        "status",
        "progress",
        "reopen_count",
        "assigned_at",
        "closed_at",
        "created_by",
        "created_at",
        "version",
    )
    readonly_fields = fields
    inlines = (AssignmentInline, ReportInline, RequestInline, DeadlineSpanInline, ReturnVisitInline, ReferralInline)

    def get_queryset(self, request):
        return Item.objects.visible_to(request.user).with_light()

    @admin.display(description=_("红黄绿灯"))
    def light_display(self, obj: Item) -> str:
        return Light(obj.light).label
