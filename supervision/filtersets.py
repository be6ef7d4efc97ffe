"""List filters (django-filter). The filters narrow an already visibility-scoped queryset."""

from __future__ import annotations

import copy

from django import forms
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import fields as django_filters_fields
from django_filters import rest_framework as filters
from django_filters.filters import QuerySetRequestMixin
from drf_spectacular.utils import extend_schema_field

from accounts.choices import Classification
from accounts.models import Unit
from supervision.choices import (
    ActivityKind,
    ExplanationStatus,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    Light,
    NoticeKind,
    NoticeStatus,
    ReasonKind,
    RequestKind,
    RequestStatus,
    Ruling,
    SuspicionSource,
    SuspicionStatus,
    Urgency,
)
from supervision.conditions import (
    closed_on_time_q,
    overdue_original_q,
    relapsed_q,
    stale_q,
    supporting_unit_q,
    was_closed_q,
)
from supervision.models import (
    DuplicateSuspicion,
    ExportApproval,
    Instruction,
    Item,
    ItemLink,
    ItemRequest,
    Notice,
    OverdueExplanation,
    SupervisionActivity,
)
from supervision.querysets import notice_entries_visible_to
from supervision.workcalendar import within_supported_years


class FilterSet(filters.FilterSet):
    """django-filter's FilterSet, without rebuilding itself on every request. Every list filters
    through one of these.

    django-filter deep-copies every filter per request and builds a new form class from the copies,
    so a new form field per filter: on the items list that was a tenth of the request's CPU. None of
    our filters takes anything from the request (no choices or querysets per user), so the form
    class is built once per FilterSet class, with fields its forms share (`_SharedFields`). A
    filter's only per-request state is its parent, so a shallow copy of it is enough."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # django-filter's __init__ less its deep copy (django_filters/filterset.py, BaseFilterSet).
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: self._bind(base, queryset.model) for name, base in self.base_filters.items()}

    def _bind(self, base: filters.Filter, model) -> filters.Filter:
        bound = copy.copy(base)
        bound.model = model
        bound.parent = self
        if bound.method is not None:
            bound.method = bound.method  # a method filter's FilterMethod points at its filter: the copy's own
        return bound

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            assert not any(isinstance(f, QuerySetRequestMixin) for f in cls.base_filters.values()), (
                f"{cls.__name__}: a filter whose queryset depends on the request needs a form per request"
            )
            form_class = cls._form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
        return form_class


class _SharedFields(dict):
    """A filter form's fields, shared by its instances. Django deep-copies a form's fields per
    instance so that a form may change them (choices per user, widget attributes); a filter form
    only validates the query string, nothing renders it or changes a field, and the copy was half of
    building it."""

    def __deepcopy__(self, memo):
        return dict(self)


class TotalOrderingFilter(filters.OrderingFilter):
    """Orders as asked, then by id: many items share a deadline, and an order with ties would let
    an item appear on two pages (or none) and an export differ from the list it came from."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "-pk") if value else qs


# The range of a PostgreSQL bigint (and of SQLite's INTEGER): a larger id is no record's, and the
# database driver cannot even bind it (OverflowError under SQLite, a 500), so it is a 400 here.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(filters.NumberFilter):
    """A record id. NumberFilter parses a decimal: `owner=3.5` quietly meant owner 3, and the schema
    said "number"; ids are whole numbers from 1 to the bigint's maximum, anything else is a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _SupportedDateRangeField(django_filters_fields.DateRangeField):
    """Both ends within the years the ledger's calendar supports (1900–2999): `0001-01-01` turned
    into a time zone-aware midnight overflowed when converted to UTC (a 500 under SQLite)."""

    def compress(self, data_list):
        for day in data_list or ():
            within_supported_years(day)
        return super().compress(data_list)


class DateRangeFilter(filters.DateFromToRangeFilter):
    """`<name>_after` / `<name>_before`, each a date in 1900–2999 (a 400 otherwise)."""

    field_class = _SupportedDateRangeField


class _ChoicesField(django_filters_fields.MultipleChoiceField):
    def clean(self, value):
        # `?urgency=` (a form or an OA system sending an empty field) means no filter, as it does for
        # every other filter; Django would answer "  不在可用的选项中" for the empty value.
        return super().clean([v for v in (value or []) if v not in ("", None)])


class ChoicesFilter(filters.MultipleChoiceFilter):
    """One or more of the choices (`?status=a&status=b`); empty values are ignored."""

    field_class = _ChoicesField


class ItemFilterSet(FilterSet):
    status = ChoicesFilter(choices=ItemStatus.choices, label=_("状态"))
    unit = IdFilter(method="filter_unit", label=_("责任单位（含下级单位，牵头或配合）"))
    lead_unit = IdFilter(field_name="lead_unit_id", label=_("牵头单位"))
    owner = IdFilter(field_name="owner_id", label=_("责任人"))
    category = IdFilter(field_name="category_id", label=_("类别"))
    instruction = IdFilter(field_name="instruction_id", label=_("批示件"))
    instruction_kind = ChoicesFilter(field_name="instruction__kind", choices=InstructionKind.choices, label=_("来源类型"))
    issuing_leader = IdFilter(field_name="instruction__issuing_leader_id", label=_("批示领导"))
    urgency = ChoicesFilter(choices=Urgency.choices, label=_("紧急程度"))
    classification = filters.TypedChoiceFilter(choices=Classification.choices, coerce=int, label=_("密级"))
    deadline = DateRangeFilter(label=_("办理时限范围（deadline_after / deadline_before）"))
    overdue = filters.BooleanFilter(method="filter_overdue", label=_("是否超期"))
    listed = filters.BooleanFilter(
        field_name="listed_for_supervision_at", lookup_expr="isnull", exclude=True, label=_("是否挂牌督办")
    )
    light = ChoicesFilter(choices=Light.choices, method="filter_light", label=_("红黄绿灯"))
    q = filters.CharFilter(method="filter_text", label=_("搜索事项名称或台账编号"))
    # The statistics' drill-downs (supervision/stats.py) use these, so a figure and its list agree.
    supporting_unit = IdFilter(method="filter_supporting_unit", label=_("配合单位（不含下级单位）"))
    created = DateRangeFilter(field_name="created_at", label=_("立项日期范围（created_after / created_before）"))
    closed = DateRangeFilter(field_name="closed_at", label=_("销号日期范围（closed_after / closed_before）"))
    assigned = DateRangeFilter(field_name="assigned_at", label=_("交办日期范围（assigned_after / assigned_before）"))
    closed_on_time = filters.ChoiceFilter(
        choices=(("original", _("按原定时限按时办结")), ("extended", _("按延期后时限按时办结"))),
        method="filter_closed_on_time",
        label=_("按时办结（original：销号日期不晚于原定时限；extended：不晚于现办理时限）"),
    )
    reopened = filters.BooleanFilter(method="filter_reopened", label=_("是否回访复核未通过、重新办理过"))
    original_deadline = DateRangeFilter(
        label=_("原定时限范围（original_deadline_after / original_deadline_before）：应办结按原定时限计")
    )
    stale = filters.BooleanFilter(
        method="filter_stale", label=_("是否停滞（在办，超过反馈周期加宽限天数未反馈，或连续多次反馈进度不变）")
    )
    overdue_original = filters.BooleanFilter(
        method="filter_overdue_original", label=_("是否按原定时限超期（在办且已过原定时限）")
    )
    relapsed = DateRangeFilter(
        method="filter_relapsed", label=_("反弹：回访复核未通过的日期范围（relapsed_after / relapsed_before）")
    )
    was_closed = DateRangeFilter(
        method="filter_was_closed",
        label=_("曾销号日期范围（was_closed_after / was_closed_before），含之后回访未通过、重新办理的销号"),
    )
    # 合并督办 (issue 15): `merged=false` counts every matter once — items the office linked to a lead
    # item with "统计时只计一次" are left out, their lead stands for them.
    merged = filters.BooleanFilter(
        method="filter_merged", label=_("是否已并入主办事项且统计只计一次（merged=false：同一事项只计一次）")
    )
    ordering = TotalOrderingFilter(
        fields=(
            ("deadline", "deadline"),
            ("warning_date", "warning_date"),
            ("created_at", "created_at"),
            ("code", "code"),
            ("updated_at", "updated_at"),
        ),
        label=_("排序"),
    )

    class Meta:
        model = Item
        fields: list[str] = []

    def filter_unit(self, queryset, name, value):
        # The unit's subtree in one query (ItemQuerySet.assigned_to_any says why as ids).
        subtree = Unit.objects.subtree_ids(value)
        return queryset.assigned_to_any(subtree) if subtree else queryset.none()

    def filter_merged(self, queryset, name, value):
        if value is None:
            return queryset
        counted_once = Exists(ItemLink.objects.filter(item=OuterRef("pk"), unlinked_at__isnull=True, count_once=True))
        return queryset.filter(counted_once) if value else queryset.exclude(counted_once)

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.overdue() if value else queryset.not_overdue()

    def filter_light(self, queryset, name, value):
        return queryset.light(*value) if value else queryset

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(code__icontains=value))

    def filter_supporting_unit(self, queryset, name, value):
        return queryset.filter(supporting_unit_q(int(value)))

    def filter_closed_on_time(self, queryset, name, value):
        return queryset.filter(closed_on_time_q(value)) if value else queryset

    def filter_reopened(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(reopen_count__gt=0) if value else queryset.filter(reopen_count=0)

    def filter_overdue_original(self, queryset, name, value):
        if value is None:
            return queryset
        q = overdue_original_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_stale(self, queryset, name, value):
        if value is None:
            return queryset
        q = stale_q(timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_relapsed(self, queryset, name, value):
        return queryset.filter(relapsed_q(*_local_dates(value))) if value else queryset

    def filter_was_closed(self, queryset, name, value):
        return queryset.filter(was_closed_q(*_local_dates(value))) if value else queryset


def _local_dates(value: slice) -> tuple:
    """A date range filter's value (local datetimes at the start and end of the days) as dates."""
    return tuple(None if v is None else timezone.localtime(v).date() for v in (value.start, value.stop))


class InstructionFilterSet(FilterSet):
    kind = ChoicesFilter(choices=InstructionKind.choices, label=_("来源类型"))
    nature = filters.ChoiceFilter(choices=InstructionNature.choices, label=_("批示性质"))
    issuing_leader = IdFilter(field_name="issuing_leader_id", label=_("批示领导"))
    issued_on = DateRangeFilter(label=_("批示日期范围"))
    q = filters.CharFilter(method="filter_text", label=_("搜索标题或文号"))

    class Meta:
        model = Instruction
        fields: list[str] = []

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(document_number__icontains=value)) if value else queryset


class ItemRequestFilterSet(FilterSet):
    kind = ChoicesFilter(choices=RequestKind.choices, label=_("申请类型"))
    status = ChoicesFilter(choices=RequestStatus.choices, label=_("审批状态"))
    item = IdFilter(field_name="item_id", label=_("事项"))

    class Meta:
        model = ItemRequest
        fields: list[str] = []


# Overdue explanations and notices.


class OverdueExplanationFilterSet(FilterSet):
    status = ChoicesFilter(choices=ExplanationStatus.choices, label=_("状态"))
    item = IdFilter(field_name="item_id", label=_("事项"))
    unit = IdFilter(field_name="unit_id", label=_("责任单位"))
    reason_kind = filters.ChoiceFilter(choices=ReasonKind.choices, label=_("原因类型"))
    ruling = filters.ChoiceFilter(choices=Ruling.choices, label=_("认定结果"))
    due_by = DateRangeFilter(label=_("说明截止日期范围（due_by_after / due_by_before）"))

    class Meta:
        model = OverdueExplanation
        fields: list[str] = []


class NoticeFilterSet(FilterSet):
    kind = ChoicesFilter(choices=NoticeKind.choices, label=_("通报类型"))
    status = filters.ChoiceFilter(choices=NoticeStatus.choices, label=_("状态"))
    year = filters.NumberFilter(field_name="year", label=_("年度"), min_value=1900, max_value=2999)
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


# Export approvals.


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


# Duplicate matters, linked items, inspection activities (减负).


class DuplicateSuspicionFilterSet(FilterSet):
    status = ChoicesFilter(choices=SuspicionStatus.choices, label=_("状态"))
    source = ChoicesFilter(choices=SuspicionSource.choices, label=_("来源"))
    item = filters.NumberFilter(method="filter_item", label=_("事项（任一方）"))

    class Meta:
        model = DuplicateSuspicion
        fields: list[str] = []

    def filter_item(self, queryset, name, value):
        return queryset.filter(Q(item_id=value) | Q(candidate_id=value))


class ItemLinkFilterSet(FilterSet):
    item = IdFilter(field_name="item_id", label=_("并入的事项"))
    lead = IdFilter(field_name="lead_id", label=_("主办事项"))
    active = filters.BooleanFilter(field_name="unlinked_at", lookup_expr="isnull", label=_("有效（未取消）"))

    class Meta:
        model = ItemLink
        fields: list[str] = []


class SupervisionActivityFilterSet(FilterSet):
    kind = ChoicesFilter(choices=ActivityKind.choices, label=_("督查方式"))
    unit = IdFilter(field_name="target_units", label=_("督查对象"))
    start_date = DateRangeFilter(label=_("开始日期"))

    class Meta:
        model = SupervisionActivity
        fields: list[str] = []
