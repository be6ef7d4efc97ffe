"""The figures' own query parameters (period, quarter, ranking order, trend months), parsed the
same way for the stats API and the dashboard page; the item filters are the items list's own
(ItemFilterSet). DRF serializers, so the API documents them from the same classes."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from supervision.stats.figures import ORDERS
from supervision.stats.scope import MAX_TREND_MONTHS
from supervision.workcalendar import within_supported_years


class StatsQueryInput(serializers.Serializer):
    period_start = serializers.DateField(
        required=False, validators=[within_supported_years], help_text=_("统计期起始日（含），YYYY-MM-DD，1900–2999 年")
    )
    period_end = serializers.DateField(
        required=False,
        validators=[within_supported_years],
        help_text=_("统计期截止日（含），YYYY-MM-DD，1900–2999 年；不填统计期时为今天"),
    )
    quarter = serializers.RegexField(
        r"^\d{4}[Qq][1-4]$",
        required=False,
        help_text=_("季度，如 2026Q3；不能与 period_start、period_end 同时使用"),
        error_messages={"invalid": _("季度格式应为“2026Q3”（年份 + Q + 1 到 4）。")},
    )

    def validate_quarter(self, value: str) -> str:
        # 0000Q1 matches the pattern but has no first day; 9999Q4 has no day after its last.
        within_supported_years(datetime.date(max(int(value[:4]), 1), 1, 1))
        return value

    def validate(self, attrs):
        if attrs.get("quarter") and (attrs.get("period_start") or attrs.get("period_end")):
            raise serializers.ValidationError({"quarter": [_("quarter 不能与 period_start、period_end 同时使用。")]})
        start, end = attrs.get("period_start"), attrs.get("period_end")
        if start and end and start > end:
            raise serializers.ValidationError({"period_end": [_("统计截止日不能早于起始日。")]})
        return attrs


class RankingQueryInput(StatsQueryInput):
    order = serializers.ChoiceField(
        choices=[(o, o) for o in ORDERS],
        default="implementation_rate",
        help_text=_(
            "排序：implementation_rate（落实率由低到高）、on_time_rate（按时办结率由低到高）、overdue（超期由多到少）、"
            "due（应办结由多到少）、name（名称）"
        ),
    )


class TrendQueryInput(StatsQueryInput):
    months = serializers.IntegerField(
        required=False,
        default=12,
        min_value=1,
        max_value=MAX_TREND_MONTHS,
        help_text=_("月数（未给统计期起始日时），默认 12，最多 60"),
    )


class DashboardQueryInput(RankingQueryInput, TrendQueryInput):
    """Period, ranking order and trend months, parsed by the stats API's own input serializers."""
