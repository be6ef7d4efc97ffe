"""Admin for the working-day calendar (工作日历).

Supervision office staff add, correct and remove single days here (e.g. a holiday the State
Council added late); a whole year is entered with `manage.py calendar_add_year`. Edits go through
`supervision.services.calendar` so they land in the audit chain, and an edited row's source becomes "手工录入".
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from supervision.admin.base import OfficeMaintainedAdminMixin
from supervision.models import CalendarDay
from supervision.services import calendar_day_delete, calendar_day_save


class YearListFilter(admin.SimpleListFilter):
    title = _("年份")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), f"{d.year} 年") for d in years]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(date__year=int(self.value()))
            except ValueError:
                return queryset.none()
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(OfficeMaintainedAdminMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "kind", "name", "source", "updated_at")
    list_filter = (YearListFilter, "kind", "is_workday", "source")
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("-date",)
    fields = ("date", "kind", "is_workday", "name", "source", "updated_at")
    readonly_fields = ("source", "updated_at")
    list_per_page = 100

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return obj.weekday_name

    def get_readonly_fields(self, request, obj=None):
        # The date is the key: to move a day, delete it and add the new one.
        return (*self.readonly_fields, "date") if obj is not None else self.readonly_fields

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_office

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    def save_model(self, request, obj, form, change):
        calendar_day_save(actor=request.user, day=obj)

    def delete_model(self, request, obj):
        calendar_day_delete(actor=request.user, day=obj)

    def delete_queryset(self, request, queryset):
        for day in queryset:
            calendar_day_delete(actor=request.user, day=day)
