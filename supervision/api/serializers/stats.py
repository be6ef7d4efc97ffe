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
    implementation_rate = _rate("implementation_rate")
    on_time_rate_original = _rate("on_time_rate_original")
    due_current = FigureSerializer(help_text=DEFINITIONS["due_current"])
    closed_current = FigureSerializer(help_text=_("应办结（按现时限）事项中已办结的"))
    closed_on_time_extended = FigureSerializer(help_text=_("应办结（按现时限）事项中按现时限按时办结的"))
    implementation_rate_current = _rate("implementation_rate_current")
    on_time_rate_extended = _rate("on_time_rate_extended")
    overdue = FigureSerializer(help_text=DEFINITIONS["overdue"])
    overdue_original = FigureSerializer(help_text=DEFINITIONS["overdue_original"])
    open_with_deadline = FigureSerializer(help_text=DEFINITIONS["open_with_deadline"])
    overdue_rate = _rate("overdue_rate")
    closed_in_period = FigureSerializer(help_text=DEFINITIONS["closed_in_period"])
    average_workdays_to_close = serializers.FloatField(allow_null=True, help_text=DEFINITIONS["average_workdays_to_close"])
    relapsed = FigureSerializer(help_text=DEFINITIONS["relapsed"])
    reopened = FigureSerializer(help_text=DEFINITIONS["reopened"])
    assigned = FigureSerializer(help_text=DEFINITIONS["assigned"])
    completed = FigureSerializer(help_text=_("已交办事项中已销号或回访通过的"))
    in_progress = FigureSerializer(help_text=_("已交办事项中已签收、办理中或待审核的"))
    stale = FigureSerializer(help_text=DEFINITIONS["stale"])
    completion_rate = _rate("completion_rate")
    in_progress_rate = _rate("in_progress_rate")
    stale_rate = _rate("stale_rate")


class GroupFiguresSerializer(serializers.Serializer):
    total = FigureSerializer(help_text=_("该组全部事项"))
    due = FigureSerializer(help_text=DEFINITIONS["due"])
    closed = FigureSerializer(help_text=DEFINITIONS["closed"])
    closed_on_time_original = FigureSerializer()
    due_current = FigureSerializer(help_text=DEFINITIONS["due_current"])
    closed_on_time_extended = FigureSerializer()
    overdue = FigureSerializer(help_text=DEFINITIONS["overdue"])
    implementation_rate = _rate("implementation_rate")
    on_time_rate_original = _rate("on_time_rate_original")
    on_time_rate_extended = _rate("on_time_rate_extended")
    relapsed = FigureSerializer(help_text=DEFINITIONS["relapsed"])
    assigned = FigureSerializer(help_text=DEFINITIONS["assigned"])
    completed = FigureSerializer()
    in_progress = FigureSerializer()
    stale = FigureSerializer(help_text=DEFINITIONS["stale"])
    completion_rate = _rate("completion_rate")
    in_progress_rate = _rate("in_progress_rate")
    stale_rate = _rate("stale_rate")


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
    closed = FigureSerializer(help_text=_("在该月销号过的事项（含之后回访未通过、重新办理的）"))
    overdue_at_month_end = NullableFigureSerializer(help_text=_("月末超期事项"))


class TrendSerializer(FiguresSerializer):
    months = TrendMonthSerializer(many=True)


class StageSerializer(serializers.Serializer):
    measured = serializers.IntegerField(help_text=_("参与平均的事项（申请）数"))
    average_days = serializers.FloatField(allow_null=True, help_text=_("平均用时（天），无数据时为 null"))


class StageRowSerializer(serializers.Serializer):
    unit = NamedRefSerializer(help_text=_("牵头单位"))
    items = FigureSerializer(help_text=_("该单位牵头、统计期内交办的事项"))
    sign = StageSerializer(help_text=_("交办→签收"))
    first_report = StageSerializer(help_text=_("交办→首次反馈"))
    unit_endorsement = StageSerializer(help_text=_("单位审核：办结申请提交→单位负责人签字"))
    office_review = StageSerializer(help_text=_("督查室审核办结申请"))


class StagesSerializer(FiguresSerializer):
    results = StageRowSerializer(many=True)


class ScoreItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text=_("台账编号"))
    source = serializers.CharField(help_text=_("通报文号（问责认定为空）"))


class ScoreTermSerializer(serializers.Serializer):
    term = serializers.ChoiceField(
        choices=[
            (t, t) for t in ("base", "on_time_rate", "overdue", "stale", "relapsed", "praise", "criticism", "accountability")
        ]
    )
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text=_("计分依据：比率或件数；基础分为 1"))
    weight = serializers.FloatField(help_text=_("督查室在后台设定的权重"))
    points = serializers.FloatField(help_text=_("得分 = 计分依据 × 权重，保留 2 位；各项之和即总分"))
    drilldown = serializers.CharField(allow_null=True, help_text=_("该项所计事项的列表链接"))
    items = ScoreItemSerializer(many=True, allow_null=True, help_text=_("通报、问责认定所涉事项"))


class ScoreRowSerializer(serializers.Serializer):
    unit = NamedRefSerializer()
    score = serializers.FloatField(help_text=_("总分 = 各项得分之和"))
    terms = ScoreTermSerializer(many=True)


class ScoresSerializer(FiguresSerializer):
    results = ScoreRowSerializer(many=True)
