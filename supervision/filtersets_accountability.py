"""List filters for overdue explanations and notices; they narrow an already visibility-scoped queryset."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from supervision.choices import ExplanationStatus, NoticeKind, NoticeStatus, ReasonKind, Ruling
from supervision.querysets import notice_entries_visible_to

from .filtersets import ChoicesFilter, FilterSet, IdFilter
from .models import Notice, OverdueExplanation


class OverdueExplanationFilterSet(FilterSet):
    status = ChoicesFilter(choices=ExplanationStatus.choices, label=_("状态"))
    item = IdFilter(field_name="item_id", label=_("事项"))
    unit = IdFilter(field_name="unit_id", label=_("责任单位"))
    reason_kind = filters.ChoiceFilter(choices=ReasonKind.choices, label=_("原因类型"))
    ruling = filters.ChoiceFilter(choices=Ruling.choices, label=_("认定结果"))
    due_by = filters.DateFromToRangeFilter(label=_("说明截止日期范围（due_by_after / due_by_before）"))

    class Meta:
        model = OverdueExplanation
        fields: list[str] = []


class NoticeFilterSet(FilterSet):
    kind = ChoicesFilter(choices=NoticeKind.choices, label=_("通报类型"))
    status = filters.ChoiceFilter(choices=NoticeStatus.choices, label=_("状态"))
    year = filters.NumberFilter(field_name="year", label=_("年度"))
    item = IdFilter(method="filter_entries", label=_("涉及事项"))
    unit = IdFilter(method="filter_entries", label=_("涉及单位"))

    class Meta:
        model = Notice
        fields: list[str] = []

    def filter_entries(self, queryset, name, value):
        # Match only entries the viewer may see: filtering on a hidden item must not reveal
        # that a visible notice names it.
        entries = notice_entries_visible_to(self.request.user).filter(**{f"{name}_id": value})
        return queryset.filter(Exists(entries.filter(notice_id=OuterRef("pk"))))
