"""The quarterly review workbook (季度盘点, DOMAIN.md rule 15: "每季度 … 盘点分析"): one Excel file
for leaders, built from the statistics in supervision/stats.py over the same scope as the stats
API, so every number in the workbook equals the figure the API gives the same user for the same
quarter and filters.

Sheets (Chinese, set up for A4 landscape printing):
- 汇总: the headline figures with each definition beside it, items by status and by light, charts.
- 单位排名: per unit, as lead and as supporting unit apart (stats.by_unit), with a chart.
- 按来源, 按领导: per instruction kind and per issuing leader (stats.by_kind, stats.by_leader).
- 月度趋势: created / closed / overdue at month end, from the month before the period to the
  month after it (stats.trend), with a line chart.
- 超期清单: the items overdue now (the summary's `overdue` figure), one row each.
- 超期说明及认定: the overdue explanations whose missed deadline falls in the period, with the
  office's ruling (免责 / 问责 / 待认定) and where an accountability case was referred.

Two rules decide what is written (DOMAIN.md rule 13):
- Visibility: everything starts from `Item.objects.visible_to(user)` (through stats.stats_scope
  and explanations_visible_to), so nothing above the user's clearance or outside their scope is
  counted or listed.
- Export: a row naming an item (its code, title, units, people) is written only if
  `export_policy.detail_export_allowed` allows the item's classification for this user; rows left
  out are counted under their table. Counts and charts are not details and include every visible
  item (the user is cleared to see them; only the rows leave the building).

The sheet layout (fonts, widths, row heights, print setup, chart helpers) is in xlsx_layout.py.

`quarterly_review_export` is the service the API calls: it builds the workbook and records the
export in the audit chain (who took which period's figures and rows, and the file's SHA-256)."""

from __future__ import annotations

import bisect
import datetime
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.chart.label import DataLabelList

from accounts.choices import Classification
from accounts.models import Unit, User
from supervision import stats
from supervision.audit import audit_record
from supervision.choices import Light, ReasonKind, Ruling
from supervision.errors import InvalidInput, require_signed_in
from supervision.export_policy import detail_export_allowed
from supervision.ledger_export import XLSX_CONTENT_TYPE  # noqa: F401 - the workbook's content type, defined once
from supervision.models import Category, Item, OverdueExplanation, Referral
from supervision.querysets import explanations_visible_to
from supervision.workcalendar import workdays_in_range
from supervision.xlsx_layout import (
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

Date = datetime.date
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
# Months shown around the period in the trend sheet (one before, one after: "in and around").
TREND_MARGIN_MONTHS = 1
DEFAULT_TREND_MONTHS = 12

# A ledger's years; the trend's month before and after a period must stay real dates.
MIN_YEAR, MAX_YEAR = 1900, 2999
YEAR_MESSAGE = gettext_lazy("年份应在 %(min)s 至 %(max)s 之间。")

# ---------------------------------------------------------------------------------------------
# Parameters: the stats API's own (quarter or period, the items-list filters), checked together


@dataclass(frozen=True)
class ReviewRequest:
    scope: stats.Scope
    order: str


def _param_lists(params: Mapping) -> dict[str, list[str]]:
    """The request's parameters as {name: [values]} (a QueryDict or a plain mapping)."""
    out: dict[str, list[str]] = {}
    for key in params.keys():
        values = params.getlist(key) if hasattr(params, "getlist") else params[key]
        values = [str(v) for v in values] if isinstance(values, list | tuple) else [str(values)]
        values = [v for v in values if v != ""]
        if values:
            out[str(key)] = values
    return out


def _one(params: Mapping, key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    value = None if value is None else str(value).strip()
    return value or None


def review_request(*, user: User, params: Mapping, now: datetime.datetime | None = None) -> ReviewRequest:
    """Parse and check the parameters; one InvalidInput (400) names every bad field.

    A review covers a quarter (`quarter=2026Q3`) or, for a half-year or annual review, an explicit
    period with both ends (`period_start` and `period_end`); one of the two is required."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    quarter = _one(params, "quarter")
    dates: dict[str, Date | None] = {}
    for key in ("period_start", "period_end"):
        text = _one(params, key)
        dates[key] = None
        if text is None:
            continue
        try:
            dates[key] = parse_date(text)
        except ValueError:
            dates[key] = None
        if dates[key] is None:
            errors[key] = [_("日期格式应为 YYYY-MM-DD，且须为有效日期。")]
    start, end = dates["period_start"], dates["period_end"]
    if quarter is None and _no_period(errors, start, end):
        errors["quarter"] = [_("请指定盘点季度，如 2026Q3（或同时给出统计期起止日 period_start、period_end）。")]
    order = _one(params, "order") or "implementation_rate"
    if order not in stats.ORDERS:
        errors["order"] = [_("排序方式应为 %(orders)s 之一。") % {"orders": "、".join(stats.ORDERS)}]
    for key, day in dates.items():
        if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
            errors[key] = [YEAR_MESSAGE % {"min": MIN_YEAR, "max": MAX_YEAR}]
    period = None
    if not errors:
        try:
            period = stats.period_from(start=start, end=end, quarter=quarter, today=timezone.localdate(now))
        except InvalidInput as exc:
            errors.update({k: [str(m) for m in v] for k, v in exc.fields.items()})
        except ValueError:  # "0000Q1": a well-formed quarter of a year no calendar has
            errors["quarter"] = [YEAR_MESSAGE % {"min": MIN_YEAR, "max": MAX_YEAR}]
        if period is not None and period.start is not None and not MIN_YEAR <= period.start.year <= MAX_YEAR:
            errors["quarter"] = [YEAR_MESSAGE % {"min": MIN_YEAR, "max": MAX_YEAR}]
    filterset = stats.item_filterset(user=user, params=params)
    if not filterset.is_valid():
        errors.update({k: [str(m) for m in v] for k, v in filterset.errors.items()})
    if errors:
        raise InvalidInput(fields=errors)
    scope = stats.stats_scope(user=user, params=params, period=period, now=now, filterset=filterset)
    return ReviewRequest(scope=scope, order=order)


def _no_period(errors: Mapping, start: Date | None, end: Date | None) -> bool:
    """No usable period: neither end given well (a malformed date already has its own error)."""
    if "period_start" in errors or "period_end" in errors:
        return False
    return start is None or end is None


# ---------------------------------------------------------------------------------------------
# The rows behind the detail sheets


@dataclass
class DetailRows:
    """Rows that may be written, and how many visible ones the export rule held back."""

    rows: list = field(default_factory=list)
    omitted: int = 0


class _ExportRule:
    """detail_export_allowed, asked once per classification for this user."""

    def __init__(self, user: User):
        self.user = user
        self._answers: dict[int, bool] = {}

    def allows(self, classification: int) -> bool:
        if classification not in self._answers:
            self._answers[classification] = bool(detail_export_allowed(user=self.user, classification=classification))
        return self._answers[classification]


def _split(records: Sequence, rule: _ExportRule, classification_of: Callable) -> DetailRows:
    out = DetailRows()
    for record in records:
        if rule.allows(classification_of(record)):
            out.rows.append(record)
        else:
            out.omitted += 1
    return out


def overdue_items(scope: stats.Scope) -> list[Item]:
    """The items overdue now in scope: exactly the summary's `overdue` figure, longest overdue first."""
    return list(
        scope.items.overdue(scope.now).with_light(scope.now).select_related("lead_unit", "owner").order_by("deadline", "code")
    )


def _working_days_overdue(items: Sequence[Item], today: Date) -> dict[int, int]:
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


def _unit_subtree_path(scope: stats.Scope) -> str | None:
    unit_id = scope.cleaned.get("unit")
    if unit_id in (None, ""):
        return None
    return Unit.objects.filter(pk=int(unit_id)).values_list("path", flat=True).first() or ""


def period_explanations(user: User, scope: stats.Scope) -> list[OverdueExplanation]:
    """The explanations the user may read, on items in scope, for a deadline missed in the period.
    With a `unit` filter only that subtree's own explanations are listed (as the unit ranking)."""
    period = scope.period
    condition = Q(item__in=scope.items)
    if period.start is not None:
        condition &= Q(deadline__gte=period.start)
    if period.end is not None:
        condition &= Q(deadline__lte=period.end)
    subtree = _unit_subtree_path(scope)
    if subtree is not None:
        condition &= Q(unit__path__startswith=subtree)
    return list(
        explanations_visible_to(user)
        .filter(condition)
        .select_related("item", "unit", "submitted_by", "ruled_by")
        .prefetch_related(Prefetch("referrals", queryset=Referral.objects.order_by("department", "id")))
        .order_by("deadline", "item__code", "unit__name", "id")
    )


# ---------------------------------------------------------------------------------------------
# Text


def period_label(period: stats.Period) -> str:
    if period.quarter:
        year, q = period.quarter.upper().split("Q")
        return _("%(year)s年%(q)s（%(start)s 至 %(end)s）") % {
            "year": year,
            "q": QUARTER_NAMES[int(q)],
            "start": period.start,
            "end": period.end,
        }
    start = period.start.isoformat() if period.start else _("不限")
    end = period.end.isoformat() if period.end else _("不限")
    return _("%(start)s 至 %(end)s") % {"start": start, "end": end}


def _choice_label(flt, value) -> str:
    choices = {str(k): str(v) for k, v in flt.extra.get("choices") or []}
    return choices.get(str(value), str(value))


def _local_date(value) -> Date | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def describe_filters(request: ReviewRequest) -> str:
    """The request's list filters in words, for the subtitle (names rather than ids)."""
    scope = request.scope
    from supervision.filtersets import ItemFilterSet

    parts: list[str] = []
    for name, flt in ItemFilterSet.base_filters.items():
        if name == "ordering":
            continue
        value = scope.cleaned.get(name)
        if value in (None, "", [], ()):
            continue
        if name in ("unit", "lead_unit", "supporting_unit"):
            shown = Unit.objects.filter(pk=int(value)).values_list("name", flat=True).first() or f"#{int(value)}"
        elif name in ("owner", "issuing_leader"):
            person = User.objects.filter(pk=int(value)).first()
            shown = str(person) if person else f"#{int(value)}"
        elif name == "category":
            shown = Category.objects.filter(pk=int(value)).values_list("name", flat=True).first() or f"#{int(value)}"
        elif name == "instruction":
            # An instruction's title may be classified: the filter is named by its id only.
            shown = f"#{int(value)}"
        elif isinstance(value, slice):
            after, before = _local_date(value.start), _local_date(value.stop)
            shown = _("%(a)s 至 %(b)s") % {"a": after or _("不限"), "b": before or _("不限")}
        elif isinstance(value, bool):
            shown = _("是") if value else _("否")
        elif isinstance(value, list | tuple):
            shown = "、".join(_choice_label(flt, v) for v in value)
        elif name == "classification":
            shown = str(Classification(int(value)).label)
        else:
            shown = _choice_label(flt, value)
        parts.append(f"{flt.label}：{shown}")
    return "；".join(parts) if parts else _("无（全部可见事项）")


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def _person(user: User | None) -> str:
    return str(user) if user is not None else ""


# ---------------------------------------------------------------------------------------------
# The sheets

SUMMARY_ROWS = (
    # (key in stats.summary, label, kind, definition key)
    ("total", "事项总数", "count", "scope"),
    ("due", "应办结", "count", "due"),
    ("closed", "已办结", "count", "closed"),
    ("closed_on_time_original", "按原定时限按时办结", "count", "on_time_rate_original"),
    ("closed_on_time_extended", "按延期后时限按时办结", "count", "on_time_rate_extended"),
    ("implementation_rate", "落实率", "rate", "implementation_rate"),
    ("on_time_rate_original", "按原定时限按时办结率", "rate", "on_time_rate_original"),
    ("on_time_rate_extended", "按延期后时限按时办结率", "rate", "on_time_rate_extended"),
    ("overdue", "超期（当前）", "count", "overdue"),
    ("open_with_deadline", "在办有时限（当前）", "count", "open_with_deadline"),
    ("overdue_rate", "超期率（当前）", "rate", "overdue_rate"),
    ("closed_in_period", "统计期内销号", "count", "closed_in_period"),
    ("average_workdays_to_close", "平均办结工作日", "decimal", "average_workdays_to_close"),
    ("reopened", "回访后重新办理", "count", "reopened"),
)
NULL_NOTE = "比率或平均值为空白，表示分母为 0（没有应办结或销号的事项），不是 0。"


def _summary_value(summary: Mapping, key: str):
    value = summary[key]
    return value["count"] if isinstance(value, Mapping) else value


def _write_summary(wb: Workbook, request: ReviewRequest, summary: Mapping, subtitle: str) -> None:
    ws = wb.active
    ws.title = "汇总"
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 汇总"), subtitle=subtitle, span=3)
    columns = [Column("指标", width=24), Column("数值", width=12), Column("口径说明", width=90, wrap=True)]
    w.header(columns, freeze=True)
    for key, label, kind, definition in SUMMARY_ROWS:
        fmt = {"rate": PERCENT, "decimal": DECIMAL_2}.get(kind)
        col = [columns[0], Column("数值", number_format=fmt), columns[2]]
        w.data_row(col, [label, _summary_value(summary, key), stats.DEFINITIONS[definition]])
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


def _figure_values(figures: Mapping) -> list:
    return [figures[key]["count"] if isinstance(figures[key], Mapping) else figures[key] for key, _label, _fmt in FIGURE_COLUMNS]


def _figure_columns(prefix: str = "") -> list[Column]:
    return [Column(f"{prefix}{label}", width=10 if fmt is None else 12, number_format=fmt) for _key, label, fmt in FIGURE_COLUMNS]


def _write_units(wb: Workbook, request: ReviewRequest, rows: Sequence[Mapping], subtitle: str) -> None:
    ws = wb.create_sheet("单位排名")
    n = len(FIGURE_COLUMNS)
    w = SheetWriter(ws, title=_("督查督办季度盘点 · 单位排名（牵头、配合分别统计）"), subtitle=subtitle, span=2 + 2 * n)
    # Two header rows: the group ("牵头单位" / "配合单位") over each figure.
    group_row = w.row
    for start, label in ((3, _("作为牵头单位")), (3 + n, _("作为配合单位"))):
        cell = ws.cell(row=group_row, column=start, value=label)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, CENTER
        ws.merge_cells(start_row=group_row, start_column=start, end_row=group_row, end_column=start + n - 1)
        for column in range(start, start + n):
            ws.cell(row=group_row, column=column).border = BORDER
    for column in (1, 2):
        ws.cell(row=group_row, column=column).fill = HEADER_FILL
        ws.cell(row=group_row, column=column).border = BORDER
    w.skip()
    columns = [Column("序号", width=6), Column("单位", width=22, wrap=True), *_figure_columns(), *_figure_columns()]
    header = w.header(columns)
    for column in (1, 2):  # 序号 and 单位 span both header rows
        ws.merge_cells(start_row=group_row, start_column=column, end_row=header, end_column=column)
        ws.cell(row=group_row, column=column).value = columns[column - 1].header
        ws.cell(row=group_row, column=column).font = HEADER_FONT
        ws.cell(row=group_row, column=column).alignment = CENTER
    ws.freeze_panes = ws.cell(row=header + 1, column=3)
    ws.print_title_rows = f"{group_row}:{header}"
    for index, row in enumerate(rows, start=1):
        w.data_row(columns, [index, row["unit"]["name"], *_figure_values(row["lead"]), *_figure_values(row["supporting"])])
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


def _write_grouped(
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
    columns = [Column("序号", width=6), Column(group_header, width=24, wrap=True), *_figure_columns()]
    header, last = w.table(columns, [[i, name_of(row), *_figure_values(row)] for i, row in enumerate(rows, start=1)], freeze=True)
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


def _write_trend(wb: Workbook, months: Sequence[Mapping], subtitle: str) -> None:
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


def _write_overdue(wb: Workbook, scope: stats.Scope, detail: DetailRows, subtitle: str) -> None:
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
    workdays = _working_days_overdue(detail.rows, scope.today)
    rows = [
        [
            index,
            item.code,
            item.title,
            item.lead_unit.name if item.lead_unit_id else "",
            _person(item.owner),
            item.original_deadline,
            item.deadline,
            workdays.get(item.pk),
            str(Light(item.light).label),
            item.get_status_display(),
            _yes_no(item.listed_for_supervision_at is not None),
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


def _ruling_label(explanation: OverdueExplanation) -> str:
    return explanation.get_ruling_display() if explanation.ruling else _("待认定")


def _referral_label(explanation: OverdueExplanation) -> str:
    if explanation.ruling != Ruling.ACCOUNTABILITY:
        return ""
    return "、".join(str(r.get_department_display()) for r in explanation.referrals.all())


def _write_explanations(wb: Workbook, detail: DetailRows, subtitle: str) -> None:
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
            _person(e.submitted_by),
            e.submitted_at,
            _ruling_label(e),
            e.ruling_comment,
            _person(e.ruled_by),
            e.ruled_at,
            _referral_label(e),
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


# ---------------------------------------------------------------------------------------------
# The workbook


@dataclass
class QuarterlyReview:
    """A built workbook and what went into it (for the file name and the audit record)."""

    content: bytes
    filename: str
    ascii_filename: str
    period: stats.Period
    summary: dict
    overdue_listed: int
    overdue_omitted: int
    explanations_listed: int
    explanations_omitted: int


def _review_months(period: stats.Period, today: Date) -> list[Date]:
    """From the month before the period to the month after it (the trend's own rules: future
    months have no overdue figure); without a start, the 12 months to the period's end."""

    def add(month: Date, n: int) -> Date:
        index = month.year * 12 + month.month - 1 + n
        return Date(index // 12, index % 12 + 1, 1)

    last = add((period.end or today).replace(day=1), TREND_MARGIN_MONTHS if period.start else 0)
    first = add(period.start.replace(day=1), -TREND_MARGIN_MONTHS) if period.start else add(last, -(DEFAULT_TREND_MONTHS - 1))
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    count = min(count, stats.MAX_TREND_MONTHS)  # a long custom period shows its last months
    return [add(last, -(count - 1) + i) for i in range(count)]


def _file_names(period: stats.Period) -> tuple[str, str]:
    if period.quarter:
        return f"季度盘点_{period.quarter}.xlsx", f"quarterly-review-{period.quarter}.xlsx"
    stem = f"{period.start or ''}_{period.end or ''}"
    return f"督查盘点_{stem}.xlsx", f"review-{stem}.xlsx"


def build_quarterly_review(*, user: User, params: Mapping, now: datetime.datetime | None = None) -> QuarterlyReview:
    """Build the workbook (a pure read). Raises InvalidInput for bad parameters."""
    request = review_request(user=user, params=params, now=now)
    scope = request.scope
    summary = stats.summary(scope)
    units = stats.by_unit(scope, order=request.order)
    kinds = stats.by_kind(scope, order=request.order)
    leaders = stats.by_leader(scope, order=request.order)
    months = _review_months(scope.period, scope.today)
    trend = stats.trend(scope, months)
    rule = _ExportRule(user)
    overdue = _split(overdue_items(scope), rule, lambda item: item.classification)
    explanations = _split(period_explanations(user, scope), rule, lambda e: e.item.classification)

    generated = timezone.localtime(scope.now)
    subtitle = _("统计期：%(period)s　筛选条件：%(filters)s\n生成：%(user)s，%(at)s（北京时间）；数字按本人可见范围统计。") % {
        "period": period_label(scope.period),
        "filters": describe_filters(request),
        "user": str(user),
        "at": generated.strftime("%Y-%m-%d %H:%M"),
    }
    wb = Workbook()
    wb.properties.title = _("督查督办季度盘点")
    wb.properties.creator = str(user)
    _write_summary(wb, request, summary, subtitle)
    _write_units(wb, request, units, subtitle)
    _write_grouped(
        wb,
        sheet="按来源",
        title=_("督查督办季度盘点 · 按来源类型"),
        group_header="来源类型",
        rows=kinds,
        name_of=lambda row: row["label"],
        subtitle=subtitle,
        note=_("排序：%(order)s。") % {"order": ORDER_LABELS.get(request.order, request.order)},
    )
    _write_grouped(
        wb,
        sheet="按领导",
        title=_("督查督办季度盘点 · 按批示领导"),
        group_header="批示领导",
        rows=leaders,
        name_of=lambda row: row["leader"]["name"] if row["leader"] else _("系统外批示人"),
        subtitle=subtitle,
        note=_("系统外的批示人（只登记了姓名）合为一组。排序：%(order)s。")
        % {"order": ORDER_LABELS.get(request.order, request.order)},
    )
    trend_subtitle = subtitle + _("\n月份范围：%(first)s 至 %(last)s（统计期前后各一个月）。") % {
        "first": trend[0]["month"],
        "last": trend[-1]["month"],
    }
    _write_trend(wb, trend, trend_subtitle)
    _write_overdue(wb, scope, overdue, subtitle)
    _write_explanations(wb, explanations, subtitle)

    buffer = io.BytesIO()
    wb.save(buffer)
    filename, ascii_filename = _file_names(scope.period)
    return QuarterlyReview(
        content=buffer.getvalue(),
        filename=filename,
        ascii_filename=ascii_filename,
        period=scope.period,
        summary=summary,
        overdue_listed=len(overdue.rows),
        overdue_omitted=overdue.omitted,
        explanations_listed=len(explanations.rows),
        explanations_omitted=explanations.omitted,
    )


def quarterly_review_workbook(*, user: User, params: Mapping, now: datetime.datetime | None = None) -> bytes:
    """The .xlsx bytes of the quarterly review for `user` (no audit record: see quarterly_review_export)."""
    return build_quarterly_review(user=user, params=params, now=now).content


@transaction.atomic
def quarterly_review_export(*, actor: User, params: Mapping, now: datetime.datetime | None = None) -> QuarterlyReview:
    """Build the workbook for `actor` and record the export (rule 13: a file leaves the system;
    rule 14: who took it is on the record). The audit chain has no "workbook" row, so the event
    is filed under the exporting user, with the period, the filters, the rows written and held
    back, and the file's SHA-256."""
    require_signed_in(actor)
    review = build_quarterly_review(user=actor, params=params, now=now)
    period = review.period
    audit_record(
        actor=actor,
        action="quarterly_review_exported",
        obj=actor,
        data={
            "quarter": period.quarter,
            "period_start": period.start,
            "period_end": period.end,
            "filters": {
                k: v for k, v in _param_lists(params).items() if k not in ("quarter", "period_start", "period_end", "format")
            },
            "filename": review.filename,
            "sha256": hashlib.sha256(review.content).hexdigest(),
            "overdue_listed": review.overdue_listed,
            "overdue_omitted": review.overdue_omitted,
            "explanations_listed": review.explanations_listed,
            "explanations_omitted": review.explanations_omitted,
        },
    )
    return review
