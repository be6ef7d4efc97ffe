"""减负 in the back office: inspection activities (统筹督查, saved through the service, clashes shown as
warnings), the weekly burden limits the office sets, the alerts sent, and — read-only — the 疑似重复
queue and the 合并督办 links (decided through the API, where every decision is audited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from supervision import services
from supervision.admin.base import ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin
from supervision.admin.rules import OfficeEditableAdminMixin
from supervision.models import BurdenAlert, BurdenLimit, DuplicateSuspicion, ItemLink, SupervisionActivity
from supervision.services.activities import ACTIVITY_FIELDS


class ActivityForm(forms.ModelForm):
    confirm_clash = forms.BooleanField(required=False, label="同一周已有其他督查活动时仍保存")

    class Meta:
        model = SupervisionActivity
        fields = [*ACTIVITY_FIELDS, "target_units"]


@admin.register(SupervisionActivity)
class SupervisionActivityAdmin(ServiceErrorsAsMessagesMixin, OfficeEditableAdminMixin, admin.ModelAdmin):
    """统筹督查: a unit booked twice in one week is refused until the office ticks the confirmation."""

    form = ActivityForm
    list_display = ("title", "kind", "start_date", "end_date", "bodies")
    list_filter = ("kind",)
    filter_horizontal = ("target_units",)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ACTIVITY_FIELDS}
        units = list(form.cleaned_data["target_units"])
        confirm = form.cleaned_data.get("confirm_clash", False)
        if change:
            saved, clashes = services.activity_update(
                actor=request.user, activity=obj, target_units=units, confirm_clash=confirm, **fields
            )
        else:
            saved, clashes = services.activity_create(actor=request.user, target_units=units, confirm_clash=confirm, **fields)
        obj.pk = saved.pk
        for clash in clashes:
            messages.warning(request, clash.message)

    def save_related(self, request, form, formsets, change):
        pass  # the service set the target units


@admin.register(BurdenLimit)
class BurdenLimitAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    list_display = ("metric", "weekly_limit", "is_active")


@admin.register(BurdenAlert)
class BurdenAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("week_start", "unit", "metric", "value", "weekly_limit", "created_at")
    list_filter = ("metric",)


@admin.register(DuplicateSuspicion)
class DuplicateSuspicionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("item", "candidate", "score", "source", "status", "decided_by", "decided_at")
    list_filter = ("status", "source")


@admin.register(ItemLink)
class ItemLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("item", "lead", "count_once", "linked_by", "linked_at", "unlinked_at")
