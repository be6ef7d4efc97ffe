"""List filters for export approvals; they narrow an already visibility-scoped queryset."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from supervision.models import ExportApproval

from .filtersets import FilterSet, IdFilter


class ExportApprovalFilterSet(FilterSet):
    grantee = IdFilter(field_name="grantee_id", label=_("被批准人"))
    active = filters.BooleanFilter(method="filter_active", label=_("今天是否有效"))

    class Meta:
        model = ExportApproval
        fields: list[str] = []

    def filter_active(self, queryset, name, value):
        if value is None:
            return queryset
        active = queryset.active(timezone.localdate())
        return active if value else queryset.exclude(pk__in=active.values("pk"))
