"""The sheets of the quarterly review workbook (supervision/stats/quarterly.py builds the data and
the file): 汇总, 单位排名, 按来源, 按领导, 月度趋势, 超期清单, 超期说明及认定."""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.chart.label import DataLabelList

from accounts.models import User
from supervision import stats
from supervision.choices import BurdenMetric, Light, ReasonKind, Ruling
from supervision.exchange.layout import (
    BORDER,
    CENTER,
    DATE_FORMAT,
    DATETIME_FORMAT,
    DECIMAL_2,
    HEADER_FILL,
    HEADER_FONT,
    PERCENT,
    SUBTITLE_FONT,
    Column,
    SheetWriter,
    count_axis,
    rate_chart,
    show_axes,
)
from supervision.exchange.safe_cells import xlsx_put
from supervision.models import Item, OverdueExplanation
from supervision.stats.definitions import panel as definitions_panel
from supervision.workcalendar import workdays_in_range

Date = datetime.date


@dataclass(frozen=True)
class ReviewRequest:
    scope: stats.Scope
    order: str


@dataclass
class DetailRows:
    """Rows that may be written, and how many visible ones the export rule held back."""

    rows: list = field(default_factory=list)
    omitted: int = 0


def working_days_overdue(items: Sequence[Item], today: Date) -> dict[int, int]:
    """Working days in (deadline, today] per item, from one calendar query."""
    deadlines = [i.deadline for i in items if i.deadline is not None]
    if not deadlines:
        return {}
    workdays = workdays_in_range(min(deadlines), today)
    return {
        i.pk: bisect.bisect_right(workdays, today) - bisect.bisect_right(workdays, i.deadline)
        for i in items
        if i.deadline is not None
    }


def yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def person(user: User | None) -> str:
    return str(user) if user is not None else ""


SUMMARY_ROWS = (
    # (key in stats.summary, label, kind, definition key)
    ("total", "事项总数", "count", "scope"),
    ("due", "应办结", "count", "due"),
    ("closed", "已办结", "count", "closed"),
    ("closed_on_time_original", "按原定时限按时办结", "count", "on_time_rate_original"),
    ("implementation_rate", "落实率", "rate", "implementation_rate"),
    ("on_time_rate_original", "按原定时限按时办结率", "rate", "on_time_rate_original"),
    ("due_current", "应办结（按现时限，参考）", "count", "due_current"),
    ("closed_on_time_extended", "按现时限按时办结（参考）", "count", "on_time_rate_extended"),
    ("implementation_rate_current", "落实率（按现时限，参考）", "rate", "implementation_rate_current"),
    ("on_time_rate_extended", "按现时限按时办结率（参考）", "rate", "on_time_rate_extended"),
    ("overdue", "超期（当前）", "count", "overdue"),
    ("overdue_original", "按原定时限超期（当前）", "count", "overdue_original"),
    ("open_with_deadline", "在办有时限（当前）", "count", "open_with_deadline"),
    ("overdue_rate", "超期率（当前）", "rate", "overdue_rate"),
    ("closed_in_period", "统计期内销号", "count", "closed_in_period"),
    ("average_workdays_to_close", "平均办结工作日", "decimal", "average_workdays_to_close"),
    ("relapsed", "反弹（统计期内回访未通过）", "count", "relapsed"),
    ("assigned", "已交办（统计期内）", "count", "assigned"),
    ("completion_rate", "办结率", "rate", "completion_rate"),
    ("in_progress_rate", "在办率", "rate", "in_progress_rate"),
    ("stale", "停滞", "count", "stale"),
    ("stale_rate", "停滞率", "rate", "stale_rate"),
    ("reopened", "回访后重新办理", "count", "reopened"),
)


NULL_NOTE = "比率或平均值为空白，表示分母为 0（没有应办结或销号的事项），不是 0。"


def summary_value(summary: Mapping, key: str):
    value = summary[key]
    return value["count"] if isinstance(value, Mapping) else value


def write_definitions(wb: Workbook, subtitle: str) -> None:
    """The first sheet: 口径说明, the rules that keep the figures honest and the definitions, the
    same text as the API schema and the dashboard's panel (stats/definitions.py)."""
    ws = wb.active
    ws.title = "口径说明"
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 口径说明"), subtitle=subtitle, span=2)
    columns = [Column("口径", width=20), Column("说明", width=110, wrap=True)]
    w.header(columns, freeze=True)
    for row in definitions_panel():
        w.data_row(columns, [row["title"], row["text"]])
    w.note(NULL_NOTE)
    w.finish()


def write_summary(wb: Workbook, request: ReviewRequest, summary: Mapping, subtitle: str) -> None:
    ws = wb.create_sheet("汇总")
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 汇总"), subtitle=subtitle, span=3)
    columns = [Column("指标", width=24), Column("数值", width=12), Column("口径说明", width=90, wrap=True)]
    w.header(columns, freeze=True)
    for key, label, kind, definition in SUMMARY_ROWS:
        fmt = {"rate": PERCENT, "decimal": DECIMAL_2}.get(kind)
        col = [columns[0], Column("数值", number_format=fmt), columns[2]]
        w.data_row(col, [label, summary_value(summary, key), stats.DEFINITIONS[definition]])
    w.note(NULL_NOTE)
    w.skip()

    w.section(_("按状态（当前）"))
    status_header, status_last = w.table(
        [Column("状态"), Column("事项数")], [[row["label"], row["count"]] for row in summary["by_status"]]
    )
    w.skip()
    w.section(_("按红黄绿灯（当前）"))
    light_header, light_last = w.table(
        [Column("红黄绿灯"), Column("事项数")], [[row["label"], row["count"]] for row in summary["by_light"]]
    )

    bar = BarChart()
    bar.type = "col"
    bar.title = _("按状态的事项数")
    bar.style = 10
    bar.legend = None
    bar.add_data(Reference(ws, min_col=2, min_row=status_header, max_row=status_last), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=status_header + 1, max_row=status_last))
    bar.height, bar.width = 7.5, 15
    count_axis(bar, max((row["count"] for row in summary["by_status"]), default=0))
    show_axes(bar)
    ws.add_chart(bar, "E3")

    # The pie shows the running lights only: "无" (done, draft, suspended) would swamp it.
    first_running = light_header + 1 + list(Light).index(Light.GREEN)
    pie = PieChart()
    pie.title = _("在办事项红黄绿灯")
    pie.add_data(Reference(ws, min_col=2, min_row=first_running, max_row=light_last))
    pie.set_categories(Reference(ws, min_col=1, min_row=first_running, max_row=light_last))
    pie.dataLabels = DataLabelList()
    pie.dataLabels.showPercent = True
    for flag in ("showVal", "showSerName", "showCatName", "showLegendKey", "showLeaderLines"):
        setattr(pie.dataLabels, flag, False)
    pie.height, pie.width = 7.5, 15
    ws.add_chart(pie, "E20")
    w.finish()


FIGURE_COLUMNS = (
    ("total", "合计", None),
    ("due", "应办结", None),
    ("closed", "已办结", None),
    ("closed_on_time_original", "按原定时限按时办结", None),
    ("closed_on_time_extended", "按延期后时限按时办结", None),
    ("overdue", "超期（当前）", None),
    ("implementation_rate", "落实率", PERCENT),
    ("on_time_rate_original", "按原定时限按时办结率", PERCENT),
    ("on_time_rate_extended", "按延期后时限按时办结率", PERCENT),
)


def figure_values(figures: Mapping) -> list:
    return [figures[key]["count"] if isinstance(figures[key], Mapping) else figures[key] for key, _label, _fmt in FIGURE_COLUMNS]


def figure_columns(prefix: str = "") -> list[Column]:
    return [Column(f"{prefix}{label}", width=10 if fmt is None else 12, number_format=fmt) for _key, label, fmt in FIGURE_COLUMNS]


def write_units(wb: Workbook, request: ReviewRequest, rows: Sequence[Mapping], subtitle: str) -> None:
    ws = wb.create_sheet("单位排名")
    n = len(FIGURE_COLUMNS)
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 单位排名（牵头、配合分别统计）"), subtitle=subtitle, span=2 + 2 * n)
    # Two header rows: the group ("牵头单位" / "配合单位") over each figure.
    group_row = w.row
    for start, label in ((3, _("作为牵头单位")), (3 + n, _("作为配合单位"))):
        cell = xlsx_put(ws, row=group_row, column=start, value=label)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, CENTER
        ws.merge_cells(start_row=group_row, start_column=start, end_row=group_row, end_column=start + n - 1)
        for column in range(start, start + n):
            ws.cell(row=group_row, column=column).border = BORDER
    for column in (1, 2):
        ws.cell(row=group_row, column=column).fill = HEADER_FILL
        ws.cell(row=group_row, column=column).border = BORDER
    w.skip()
    columns = [Column("序号", width=6), Column("单位", width=22, wrap=True), *figure_columns(), *figure_columns()]
    header = w.header(columns)
    for column in (1, 2):  # 序号 and 单位 span both header rows
        ws.merge_cells(start_row=group_row, start_column=column, end_row=header, end_column=column)
        xlsx_put(ws, row=group_row, column=column, value=columns[column - 1].header)
        ws.cell(row=group_row, column=column).font = HEADER_FONT
        ws.cell(row=group_row, column=column).alignment = CENTER
    ws.freeze_panes = ws.cell(row=header + 1, column=3)
    ws.print_title_rows = f"{group_row}:{header}"
    for index, row in enumerate(rows, start=1):
        w.data_row(columns, [index, row["unit"]["name"], *figure_values(row["lead"]), *figure_values(row["supporting"])])
    last = w.row - 1
    w.note(_("排序：%(order)s。") % {"order": ORDER_LABELS.get(request.order, request.order)} + NULL_NOTE)
    if rows:
        rate_col = 3 + [k for k, _l, _f in FIGURE_COLUMNS].index("implementation_rate")
        chart = rate_chart(
            ws,
            title=_("各单位落实率（牵头）"),
            categories=Reference(ws, min_col=2, min_row=header + 1, max_row=last),
            series=[(Reference(ws, min_col=rate_col, min_row=header, max_row=last), True)],
            horizontal=True,
        )
        chart.legend = None
        chart.height = min(max(7.5, 0.6 * len(rows) + 3), 40)
        chart.width = 18
        ws.add_chart(chart, f"B{w.row + 1}")
    w.finish()


ORDER_LABELS = {
    "implementation_rate": "落实率由低到高",
    "on_time_rate": "按原定时限按时办结率由低到高",
    "overdue": "超期数由多到少",
    "due": "应办结数由多到少",
    "name": "名称",
}


def write_grouped(
    wb: Workbook,
    *,
    sheet: str,
    title: str,
    group_header: str,
    rows: Sequence[Mapping],
    name_of: Callable,
    subtitle: str,
    note: str,
) -> None:
    ws = wb.create_sheet(sheet)
    w = SheetWriter(ws, title=title, subtitle=subtitle, span=2 + len(FIGURE_COLUMNS))
    columns = [Column("序号", width=6), Column(group_header, width=24, wrap=True), *figure_columns()]
    header, last = w.table(columns, [[i, name_of(row), *figure_values(row)] for i, row in enumerate(rows, start=1)], freeze=True)
    w.note(note + NULL_NOTE)
    if rows:
        keys = [k for k, _l, _f in FIGURE_COLUMNS]
        chart = BarChart()
        chart.type = "col"
        chart.title = _("应办结与已办结")
        chart.style = 10
        for key in ("due", "closed"):
            column = 3 + keys.index(key)
            chart.add_data(Reference(ws, min_col=column, min_row=header, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=header + 1, max_row=last))
        chart.height, chart.width = 8, 18
        count_axis(chart, max((row["due"]["count"] for row in rows), default=0))
        show_axes(chart)
        ws.add_chart(chart, f"B{w.row + 1}")
    w.finish()


def write_trend(wb: Workbook, months: Sequence[Mapping], subtitle: str) -> None:
    ws = wb.create_sheet("月度趋势")
    # The notes span the width of the chart below the table, not just the four narrow columns.
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 月度趋势"), subtitle=subtitle, span=10)
    columns = [Column("月份", width=10), Column("新立项", width=10), Column("销号", width=10), Column("月末超期", width=10)]
    rows = [[m["month"], m["created"]["count"], m["closed"]["count"], m["overdue_at_month_end"]["count"]] for m in months]
    header, last = w.table(columns, rows, freeze=True)
    w.note(stats.DEFINITIONS["trend"].split("范围：")[0] + _("空白：尚未到来的月份。"))
    chart = LineChart()
    chart.title = _("新立项、销号与月末超期")
    chart.style = 10
    chart.y_axis.title = _("事项数")
    chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=header, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    for series in chart.series:
        series.smooth = False  # counts per month: straight segments, no invented curve
        series.marker.symbol = "circle"
    largest = max((max(r[1] or 0, r[2] or 0, r[3] or 0) for r in rows), default=0)
    count_axis(chart, largest)
    chart.height, chart.width = 9, 20
    show_axes(chart)
    ws.add_chart(chart, f"A{w.row + 1}")
    w.finish()


OMITTED_ITEMS = gettext_noop("另有 %(n)s 项涉密事项未列出（未经批准）")


OMITTED_EXPLANATIONS = gettext_noop("另有 %(n)s 条涉密事项的超期说明未列出（未经批准）")


def write_overdue(wb: Workbook, scope: stats.Scope, detail: DetailRows, subtitle: str) -> None:
    ws = wb.create_sheet("超期清单")
    columns = [
        Column("序号", width=6),
        Column("台账编号", width=14),
        Column("事项名称", width=36, wrap=True),
        Column("牵头单位", width=20, wrap=True),
        Column("责任人"),
        Column("原定时限", width=12, number_format=DATE_FORMAT),
        Column("现办理时限", width=12, number_format=DATE_FORMAT),
        Column("超期工作日", width=10),
        Column("红黄绿灯", width=8),
        Column("状态", width=10),
        Column("挂牌督办", width=8),
    ]
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 超期清单"), subtitle=subtitle, span=len(columns))
    workdays = working_days_overdue(detail.rows, scope.today)
    rows = [
        [
            index,
            item.code,
            item.title,
            item.lead_unit.name if item.lead_unit_id else "",
            person(item.owner),
            item.original_deadline,
            item.deadline,
            workdays.get(item.pk),
            str(Light(item.light).label),
            item.get_status_display(),
            yes_no(item.listed_for_supervision_at is not None),
        ]
        for index, item in enumerate(detail.rows, start=1)
    ]
    w.table(columns, rows, freeze=True)
    if detail.omitted:
        w.note(_(OMITTED_ITEMS) % {"n": detail.omitted})
    w.note(
        _(
            "当前超期事项（截至 %(today)s），与“汇总”中的超期数一致；超期工作日为现办理时限次日至今日的工作日数（按法定节假日和调休日历）。"
        )
        % {"today": scope.today},
        font=SUBTITLE_FONT,
    )
    w.finish()


def ruling_label(explanation: OverdueExplanation) -> str:
    return explanation.get_ruling_display() if explanation.ruling else _("待认定")


def referral_label(explanation: OverdueExplanation) -> str:
    if explanation.ruling != Ruling.ACCOUNTABILITY:
        return ""
    return "、".join(str(r.get_department_display()) for r in explanation.referrals.all())


def write_explanations(wb: Workbook, detail: DetailRows, subtitle: str) -> None:
    ws = wb.create_sheet("超期说明及认定")
    columns = [
        Column("序号", width=6),
        Column("台账编号", width=14),
        Column("事项名称", width=28, wrap=True),
        Column("责任单位", width=18, wrap=True),
        Column("超期的办理时限", width=12, number_format=DATE_FORMAT),
        Column("原因类型", width=10),
        Column("超期说明", width=40, wrap=True),
        Column("说明人"),
        Column("说明时间", width=16, number_format=DATETIME_FORMAT),
        Column("认定结果", width=8),
        Column("认定意见", width=28, wrap=True),
        Column("认定人"),
        Column("认定时间", width=16, number_format=DATETIME_FORMAT),
        Column("移交", width=16, wrap=True),
    ]
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 超期说明及认定"), subtitle=subtitle, span=len(columns))
    rows = [
        [
            index,
            e.item.code,
            e.item.title,
            e.unit.name,
            e.deadline,
            e.get_reason_kind_display() if e.reason_kind else _("未说明"),
            e.text,
            person(e.submitted_by),
            e.submitted_at,
            ruling_label(e),
            e.ruling_comment,
            person(e.ruled_by),
            e.ruled_at,
            referral_label(e),
        ]
        for index, e in enumerate(detail.rows, start=1)
    ]
    w.table(columns, rows, freeze=True)
    if detail.omitted:
        w.note(_(OMITTED_EXPLANATIONS) % {"n": detail.omitted})
    counts = {
        "exemption": sum(1 for e in detail.rows if e.ruling == Ruling.EXEMPTION),
        "accountability": sum(1 for e in detail.rows if e.ruling == Ruling.ACCOUNTABILITY),
        "pending": sum(1 for e in detail.rows if not e.ruling),
        "objective": sum(1 for e in detail.rows if e.reason_kind == ReasonKind.OBJECTIVE),
        "subjective": sum(1 for e in detail.rows if e.reason_kind == ReasonKind.SUBJECTIVE),
    }
    w.note(
        _(
            "统计期内超期（超期的办理时限在统计期内）的超期说明。客观原因可以免责，主观原因或逾期未说明的问责并移交。"
            "所列：免责 %(exemption)s，问责 %(accountability)s，待认定 %(pending)s；客观原因 %(objective)s，主观原因 %(subjective)s。"
        )
        % counts,
        font=SUBTITLE_FONT,
    )
    w.finish()


def write_scores(wb: Workbook, scores: Sequence[Mapping], subtitle: str) -> None:
    """考核得分: one row per unit and term — the basis, the weight, the points; the score is the sum."""
    ws = wb.create_sheet("考核得分")
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 考核得分"), subtitle=subtitle, span=7)
    columns = [
        Column("单位", width=18),
        Column("总分", width=8, number_format=DECIMAL_2),
        Column("计分项", width=20),
        Column("计分依据", width=10, number_format=DECIMAL_2),
        Column("权重", width=8, number_format=DECIMAL_2),
        Column("得分", width=8, number_format=DECIMAL_2),
        Column("所涉事项", width=50, wrap=True),
    ]
    w.header(columns, freeze=True)
    for row in scores:
        for term in row["terms"]:
            named = "、".join(f"{i['code']}（{i['source']}）" if i["source"] else i["code"] for i in term["items"] or [])
            w.data_row(
                columns,
                [row["unit"]["name"], row["score"], term["label"], term["value"], term["weight"], term["points"], named],
            )
    w.note(stats.DEFINITIONS["assessment"])
    w.finish()


def write_burden(wb: Workbook, rows: Sequence[Mapping], subtitle: str) -> None:
    """基层负担（减负）: one row per unit and week of the period, the heaviest first within a week."""
    ws = wb.create_sheet("基层负担")
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 基层负担（减负）"), subtitle=subtitle, span=9)
    columns = [
        Column("周（周一）", width=12),
        Column("单位", width=18),
        Column("收到消息", width=10),
        Column("催办", width=8),
        Column("要求报送", width=10),
        Column("报送反馈", width=10),
        Column("同一事项的督办件数", width=12, number_format=DECIMAL_2),
        Column("督查活动", width=10),
        Column("超过上限", width=24, wrap=True),
    ]
    w.header(columns, freeze=True)
    for row in rows:
        over = "、".join(str(BurdenMetric(m).label) for m in row["over_limits"])
        w.data_row(
            columns,
            [
                row["week_start"].isoformat(),
                row["unit"],
                row["messages"],
                row["reminders"],
                row["reports_asked"],
                row["reports_filed"],
                row["items_per_matter"],
                row["visits"],
                over,
            ],
        )
    w.note(stats.DEFINITIONS["burden"])
    w.finish()
