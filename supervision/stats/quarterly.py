"""The quarterly review workbook (季度盘点, DOMAIN.md rule 15: "每季度 … 盘点分析"): one Excel file
for leaders, built from the statistics in supervision/stats/ over the same scope as the stats
API, so every number in the workbook equals the figure the API gives the same user for the same
quarter and filters.

Sheets (Chinese, set up for A4 landscape printing):
- 口径说明: the rules that keep the figures honest and the definitions (stats/definitions.py).
- 汇总: the headline figures with each definition beside it, items by status and by light, charts.
- 单位排名: per unit, as lead and as supporting unit apart (stats.by_unit), with a chart.
- 按来源, 按领导: per instruction kind and per issuing leader (stats.by_kind, stats.by_leader).
- 月度趋势: created / closed / overdue at month end, from the month before the period to the
  month after it (stats.trend), with a line chart.
- 超期清单: the items overdue now (the summary's `overdue` figure), one row each.
- 超期说明及认定: the overdue explanations whose missed deadline falls in the period, with the
  office's ruling (免责 / 问责 / 待认定) and where an accountability case was referred.
- 考核得分: per lead unit, the score and each term (basis × weight = points), the items the
  notices and rulings name (stats/assessment.py).

Two rules decide what is written (DOMAIN.md rule 13):
- Visibility: everything starts from `Item.objects.visible_to(user)` (through stats.stats_scope
  and explanations_visible_to), so nothing above the user's clearance or outside their scope is
  counted or listed.
- Export: a row naming an item (its code, title, units, people) is written only if
  `export_policy.detail_export_allowed` allows the item's classification for this user; rows left
  out are counted under their table. Counts and charts are not details and include every visible
  item (the user is cleared to see them; only the rows leave the building).

The sheets are written by workbook.py; their layout (fonts, widths, row heights, print setup,
chart helpers) is in supervision/exchange/layout.py.

`quarterly_review_export` is the service the API calls: it builds the workbook and records the
export in the audit chain (who took which period's figures and rows, and the file's SHA-256)."""

from __future__ import annotations

import datetime
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from accounts.choices import Classification
from accounts.models import Unit, User
from supervision import stats
from supervision.audit import audit_record
from supervision.errors import InvalidInput, require_signed_in
from supervision.exchange.export.policy import detail_export_allowed
from supervision.filtersets import ItemFilterSet
from supervision.models import Category, Item, OverdueExplanation, Referral
from supervision.querysets import explanations_visible_to
from supervision.stats.assessment import unit_scores
from supervision.stats.burden import burden_for_period
from supervision.stats.workbook import (
    ORDER_LABELS,
    DetailRows,
    ReviewRequest,
    write_burden,
    write_definitions,
    write_explanations,
    write_grouped,
    write_overdue,
    write_scores,
    write_summary,
    write_trend,
    write_units,
)

Date = datetime.date


QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


# Months shown around the period in the trend sheet (one before, one after: "in and around").
TREND_MARGIN_MONTHS = 1


DEFAULT_TREND_MONTHS = 12


MIN_YEAR, MAX_YEAR = 1900, 2999
YEAR_MESSAGE = gettext_lazy("年份应在 %(min)s 至 %(max)s 之间。")


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


def local_date(value) -> Date | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def describe_filters(request: ReviewRequest) -> str:
    """The request's list filters in words, for the subtitle (names rather than ids)."""
    scope = request.scope

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
            after, before = local_date(value.start), local_date(value.stop)
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
    scores = unit_scores(scope)
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
    write_definitions(wb, subtitle)
    write_summary(wb, request, summary, subtitle)
    write_units(wb, request, units, subtitle)
    write_grouped(
        wb,
        sheet="按来源",
        title=_("督查督办季度盘点 · 按来源类型"),
        group_header="来源类型",
        rows=kinds,
        name_of=lambda row: row["label"],
        subtitle=subtitle,
        note=_("排序：%(order)s。") % {"order": ORDER_LABELS.get(request.order, request.order)},
    )
    write_grouped(
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
    write_trend(wb, trend, trend_subtitle)
    write_overdue(wb, scope, overdue, subtitle)
    write_explanations(wb, explanations, subtitle)
    write_scores(wb, scores, subtitle)
    if user.sees_whole_ledger:  # the burden figures are the office's and the leaders' (units get 403 in the API)
        write_burden(
            wb, burden_for_period(user=user, start=scope.period.start, end=scope.period.end, today=scope.today), subtitle
        )

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
