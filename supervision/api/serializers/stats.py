"""Statistics: input serializers parse the query string; output serializers describe the figures
(they render dicts from supervision.stats and give the OpenAPI schema). Definitions: stats.DEFINITIONS."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from supervision.choices import InstructionKind, ItemStatus, Light
from supervision.stats import DEFINITIONS

# The query's period, order and months: parsed alike by the API and the dashboard page.
from supervision.stats.params import RankingQueryInput, StatsQueryInput, TrendQueryInput  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Output


class FigureSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=_("事项数"))
    drilldown = serializers.CharField(allow_null=True, help_text=DEFINITIONS["drilldown"])


class NullableFigureSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text=_("事项数；以后的月份为 null"))
    drilldown = serializers.CharField(
        allow_null=True, help_text=_("事项列表链接；过去月份月末超期无法用当前状态筛选复现，为 null")
    )


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(allow_null=True, help_text=_("统计期起始日（含），null 表示不限"))
    end = serializers.DateField(allow_null=True, help_text=_("统计期截止日（含），null 表示不限"))
    quarter = serializers.CharField(allow_null=True, help_text=_("按季度统计时的季度，如 2026Q3"))


class StatusCountSerializer(FigureSerializer):
    # A plain string: a second choice field named "status" would make the schema's enum names collide.
    status = serializers.CharField(help_text="状态：" + "、".join(f"{c.value}（{c.label}）" for c in ItemStatus))
    label = serializers.CharField()


class LightCountSerializer(FigureSerializer):
    light = serializers.ChoiceField(choices=Light.choices)
    label = serializers.CharField()


def _rate(key: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, min_value=0, max_value=1, help_text=DEFINITIONS[key])


class FiguresSerializer(serializers.Serializer):
    period = PeriodSerializer()
    as_of = serializers.DateTimeField(
        help_text=_(
            "这些数字的计算时间。相同范围的查看者共用统计结果：台账有变动后，之前算出的数字至多再用 "
            "DUBAN_STATS_MAX_LAG_SECONDS 秒（默认 30 秒），不论有无变动至多用 DUBAN_STATS_CACHE_SECONDS 秒（默认 60 秒）"
        )
    )


class SummarySerializer(FiguresSerializer):
    total = FigureSerializer(help_text=_("统计范围内的全部事项"))
    by_status = StatusCountSerializer(many=True, help_text=_("各状态事项数（当前）"))
    by_light = LightCountSerializer(many=True, help_text=_("红黄绿灯事项数（当前）"))
    due = FigureSerializer(help_text=DEFINITIONS["due"])
    closed = FigureSerializer(help_text=DEFINITIONS["closed"])
    closed_on_time_original = FigureSerializer(help_text=_("应办结事项中按原定时限按时办结的"))
    closed_on_time_extended = FigureSerializer(help_text=_("应办结事项中按延期后时限按时办结的"))
    implementation_rate = _rate("implementation_rate")
    on_time_rate_original = _rate("on_time_rate_original")
    on_time_rate_extended = _rate("on_time_rate_extended")
    overdue = FigureSerializer(help_text=DEFINITIONS["overdue"])
    open_with_deadline = FigureSerializer(help_text=DEFINITIONS["open_with_deadline"])
    overdue_rate = _rate("overdue_rate")
    closed_in_period = FigureSerializer(help_text=DEFINITIONS["closed_in_period"])
    average_workdays_to_close = serializers.FloatField(allow_null=True, help_text=DEFINITIONS["average_workdays_to_close"])
    reopened = FigureSerializer(help_text=DEFINITIONS["reopened"])


class GroupFiguresSerializer(serializers.Serializer):
    total = FigureSerializer(help_text=_("该组全部事项"))
    due = FigureSerializer(help_text=DEFINITIONS["due"])
    closed = FigureSerializer(help_text=DEFINITIONS["closed"])
    closed_on_time_original = FigureSerializer()
    closed_on_time_extended = FigureSerializer()
    overdue = FigureSerializer(help_text=DEFINITIONS["overdue"])
    implementation_rate = _rate("implementation_rate")
    on_time_rate_original = _rate("on_time_rate_original")
    on_time_rate_extended = _rate("on_time_rate_extended")


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UnitRowSerializer(serializers.Serializer):
    unit = NamedRefSerializer()
    lead = GroupFiguresSerializer(help_text=_("作为牵头单位的事项"))
    supporting = GroupFiguresSerializer(help_text=_("作为配合单位的事项"))


class LeaderRowSerializer(GroupFiguresSerializer):
    leader = NamedRefSerializer(allow_null=True, help_text=_("批示领导；null 为系统外的批示人（只填了批示领导姓名）"))


class KindRowSerializer(GroupFiguresSerializer):
    kind = serializers.ChoiceField(choices=InstructionKind.choices)
    label = serializers.CharField()


class CategoryRowSerializer(GroupFiguresSerializer):
    category = NamedRefSerializer(allow_null=True, help_text=_("类别；null 为未分类"))


class UnitRankingSerializer(FiguresSerializer):
    order = serializers.CharField()
    results = UnitRowSerializer(many=True)


class LeaderRankingSerializer(FiguresSerializer):
    order = serializers.CharField()
    results = LeaderRowSerializer(many=True)


class KindRankingSerializer(FiguresSerializer):
    order = serializers.CharField()
    results = KindRowSerializer(many=True)


class CategoryRankingSerializer(FiguresSerializer):
    order = serializers.CharField()
    results = CategoryRowSerializer(many=True)


class TrendMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text=_("月份，YYYY-MM"))
    created = FigureSerializer(help_text=_("立项时间在该月的事项"))
    closed = FigureSerializer(help_text=_("销号时间在该月的事项"))
    overdue_at_month_end = NullableFigureSerializer(help_text=_("月末超期事项"))


class TrendSerializer(FiguresSerializer):
    months = TrendMonthSerializer(many=True)
