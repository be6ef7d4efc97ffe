"""Admin for export approvals (涉密导出审批, DOMAIN.md rule 13).

Office staff grant approvals here (the form calls `export_approval_grant`, with the signed-in user
as approver) and revoke them with a list action (`export_approval_revoke`); both land in the audit
chain. An approval is never edited or deleted: the record says who allowed what, and when."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from supervision.admin.base import ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin
from supervision.errors import DomainError
from supervision.models import ExportApproval, ExportJob
from supervision.services import export_approval_grant, export_approval_revoke

GRANT_FIELDS = ("grantee", "classification", "reason", "valid_from", "valid_until")


class ExportApprovalForm(forms.ModelForm):
    class Meta:
        model = ExportApproval
        fields = GRANT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The change view shows every field read-only, so the form may have none of them.
        if "valid_from" in self.fields:
            self.fields["valid_from"].initial = timezone.localdate
        if "grantee" in self.fields:
            self.fields["grantee"].queryset = self.fields["grantee"].queryset.filter(is_active=True)


@admin.register(ExportApproval)
class ExportApprovalAdmin(ServiceErrorsAsMessagesMixin, admin.ModelAdmin):
    form = ExportApprovalForm
    list_display = (
        "grantee",
        "classification",
        "valid_from",
        "valid_until",
        "approved_by",
        "approved_at",
        "revoked_at",
        "active",
    )
    list_filter = ("classification", "valid_until", "revoked_at")
    search_fields = ("grantee__username", "grantee__full_name", "reason")
    list_select_related = ("grantee", "approved_by")
    readonly_fields = ("approved_by", "approved_at", "revoked_at", "revoked_by", "revoke_reason")
    actions = ("revoke_selected",)

    def get_queryset(self, request):
        return ExportApproval.objects.visible_to(request.user).select_related("grantee", "approved_by", "revoked_by")

    def get_fields(self, request, obj=None):
        return GRANT_FIELDS if obj is None else (*GRANT_FIELDS, *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # Granted approvals are records, not settings: change means revoke and grant anew.
        return self.readonly_fields if obj is None else (*GRANT_FIELDS, *self.readonly_fields)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_office

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("今天有效"))
    def active(self, obj: ExportApproval) -> bool:
        return obj.is_active()

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in GRANT_FIELDS}
        saved = export_approval_grant(actor=request.user, **data)
        # The admin goes on with `obj` (messages, log entry, redirect): give it the saved row.
        obj.pk = saved.pk
        obj.approved_by_id = saved.approved_by_id
        obj.approved_at = saved.approved_at
        obj.valid_from = saved.valid_from

    @admin.action(description=_("撤销所选审批"))
    def revoke_selected(self, request, queryset):
        revoked = 0
        for approval in queryset.filter(revoked_at__isnull=True):
            try:
                export_approval_revoke(actor=request.user, approval=approval, reason=str(_("后台撤销")))
                revoked += 1
            except DomainError as exc:
                messages.error(request, f"{approval}：{exc.message}")
        if revoked:
            messages.success(request, _("已撤销 %(n)s 项审批。") % {"n": revoked})


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """台账导出任务, read-only: jobs are asked for over the API; the file is the requester's alone."""

    list_display = [
        "id",
        "created_by",
        "file_format",
        "status",
        "rows",
        "omitted",
        "created_at",
        "finished_at",
        "file_deleted_at",
    ]
    list_filter = ["status", "file_format"]
    search_fields = ["created_by__username", "created_by__full_name"]
    # Not the file: it holds ledger rows under the export rule, and only its requester downloads it.
    fields = readonly_fields = [
        "file_format",
        "filters",
        "status",
        "rows",
        "omitted",
        "filename",
        "sha256",
        "error",
        "audit_seq",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "file_deleted_at",
    ]
