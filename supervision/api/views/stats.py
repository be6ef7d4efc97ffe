"""Statistics endpoints (/api/v1/stats/…): parse the query, call one selector in supervision.stats,
render. Every figure is counted over the items the viewer may see, with the items list's filters."""

from __future__ import annotations

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from supervision import stats
from supervision.api.serializers import stats as s
from supervision.filtersets import ItemFilterSet
from supervision.models import Item
from supervision.stats.assessment import unit_scores
from supervision.stats.cache import cached
from supervision.stats.stages import stage_durations

# The items list's `ordering` means nothing for a count.
NO_ORDERING = OpenApiParameter("ordering", exclude=True)
COMMON = ("scope", "period", "null_rates", "drilldown")
GROUP = (
    "due",
    "closed",
    "implementation_rate",
    "on_time_rate_original",
    "due_current",
    "on_time_rate_extended",
    "overdue",
    "relapsed",
    "completion_rate",
    "in_progress_rate",
    "stale_rate",
)


class StatsView(GenericAPIView):
    """Base: the items-list filters (documented in the schema from ItemFilterSet) plus the period."""

    queryset = Item.objects.none()  # for the schema's filter parameters; reads go through supervision.stats
    filterset_class = ItemFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = None
    input_class: type[serializers.Serializer] = s.StatsQueryInput

    def parse(self, request) -> tuple[stats.Scope, dict]:
        """Check the period parameters and the list filters together, so one 400 names every bad field."""
        query = self.input_class(data=request.query_params)
        filterset = stats.item_filterset(user=request.user, params=request.query_params)
        errors: dict = {}
        if not query.is_valid():
            errors.update(query.errors)
        if not filterset.is_valid():
            errors.update({field: list(messages) for field, messages in filterset.errors.items()})
        if errors:
            raise serializers.ValidationError(errors)
        data = dict(query.validated_data)
        now = timezone.now()
        period = stats.period_from(
            start=data.get("period_start"), end=data.get("period_end"), quarter=data.get("quarter"), today=timezone.localdate(now)
        )
        return stats.stats_scope(
            user=request.user, params=request.query_params, period=period, now=now, filterset=filterset
        ), data


def _ranking(view: StatsView, request, selector) -> Response:
    scope, data = view.parse(request)
    results, as_of = cached(scope, selector, order=data["order"])
    return Response({"period": stats.period_out(scope.period), "as_of": as_of, "order": data["order"], "results": results})


class SummaryView(StatsView):
    @extend_schema(
        summary="统计汇总",
        description=stats.describe(
            *COMMON,
            "due",
            "closed",
            "implementation_rate",
            "on_time_rate_original",
            "due_current",
            "implementation_rate_current",
            "on_time_rate_extended",
            "overdue",
            "overdue_original",
            "open_with_deadline",
            "overdue_rate",
            "closed_in_period",
            "average_workdays_to_close",
            "relapsed",
            "reopened",
            "assigned",
            "completion_rate",
            "in_progress_rate",
            "stale",
            "stale_rate",
        ),
        parameters=[s.StatsQueryInput, NO_ORDERING],
        responses=s.SummarySerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        scope, _ = self.parse(request)
        figures, as_of = cached(scope, stats.summary)
        return Response({**figures, "as_of": as_of})


class UnitRankingView(StatsView):
    input_class = s.RankingQueryInput

    @extend_schema(
        summary="按单位排名（牵头、配合分别统计）",
        description=stats.describe("units", *COMMON, *GROUP),
        parameters=[s.RankingQueryInput, NO_ORDERING],
        responses=s.UnitRankingSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        return _ranking(self, request, stats.by_unit)


class LeaderRankingView(StatsView):
    input_class = s.RankingQueryInput

    @extend_schema(
        summary="按批示领导统计",
        description="按批示件的批示领导分组；系统外的批示人（只填了姓名）合为一组，leader 为 null。\n\n"
        + stats.describe(*COMMON, *GROUP),
        parameters=[s.RankingQueryInput, NO_ORDERING],
        responses=s.LeaderRankingSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        return _ranking(self, request, stats.by_leader)


class KindRankingView(StatsView):
    input_class = s.RankingQueryInput

    @extend_schema(
        summary="按来源类型统计（如会议议定事项的落实率）",
        description="按批示件来源类型分组，列出全部类型（无事项的为 0）。\n\n" + stats.describe(*COMMON, *GROUP),
        parameters=[s.RankingQueryInput, NO_ORDERING],
        responses=s.KindRankingSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        return _ranking(self, request, stats.by_kind)


class CategoryRankingView(StatsView):
    input_class = s.RankingQueryInput

    @extend_schema(
        summary="按事项类别统计",
        description="按事项类别分组；未分类的事项合为一组，category 为 null。\n\n" + stats.describe(*COMMON, *GROUP),
        parameters=[s.RankingQueryInput, NO_ORDERING],
        responses=s.CategoryRankingSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        return _ranking(self, request, stats.by_category)


class TrendView(StatsView):
    input_class = s.TrendQueryInput

    @extend_schema(
        summary="月度趋势：新立项、销号、月末超期",
        description=stats.describe("trend", "scope", "drilldown"),
        parameters=[s.TrendQueryInput, NO_ORDERING],
        responses=s.TrendSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        scope, data = self.parse(request)
        months = stats.trend_months(period=scope.period, months=data["months"], today=scope.today)
        covered = stats.Period(months[0], stats.month_last_day(months[-1]), scope.period.quarter)
        months_out, as_of = cached(scope, stats.trend, months)
        return Response({"period": stats.period_out(covered), "as_of": as_of, "months": months_out})


class StagesView(StatsView):
    @extend_schema(
        summary="环节用时（按牵头单位）",
        description=stats.describe("stages", *COMMON),
        parameters=[s.StatsQueryInput, NO_ORDERING],
        responses=s.StagesSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        scope, _ = self.parse(request)
        results, as_of = cached(scope, stage_durations)
        return Response({"period": stats.period_out(scope.period), "as_of": as_of, "results": results})


class ScoresView(StatsView):
    @extend_schema(
        summary="考核得分（按牵头单位，可逐项展开）",
        description=stats.describe("assessment", *COMMON),
        parameters=[s.StatsQueryInput, NO_ORDERING],
        responses=s.ScoresSerializer,
        filters=True,
        tags=["stats"],
    )
    def get(self, request):
        scope, _ = self.parse(request)
        results, as_of = cached(scope, unit_scores)
        return Response({"period": stats.period_out(scope.period), "as_of": as_of, "results": results})
