"""Page glue for the dashboard: parse the query the way the stats API does, call the same
functions in supervision.stats, and shape their output for the templates. No figure is computed
here; the only counting of our own is the page of a drill-down list, which runs the items list's
own filters over the visibility rule exactly like /api/v1/items/."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode, urlsplit

from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision import selectors, stats
from supervision.choices import ITEM_STATUS_LABELS, LIGHT_LABELS, Light
from supervision.errors import InvalidInput
from supervision.filtersets import ItemFilterSet
from supervision.stats.assessment import unit_scores
from supervision.stats.burden import burden_panel
from supervision.stats.cache import cached
from supervision.stats.definitions import panel as definitions_panel
from supervision.stats.params import DashboardQueryInput
from supervision.stats.stages import STAGES, stage_durations

PAGE_SIZE = 20  # as the API list (CappedPageNumberPagination)
OVERDUE_PREVIEW = 10
# Most overdue first; the code breaks ties so the first page is stable.
OVERDUE_ORDERING = "deadline,code"
# Being built in another change (issue: quarterly review workbook); session auth works there.
WORKBOOK_PATH = "/api/v1/stats/quarterly-workbook/"
# Parameters of the page itself, not item filters.
PERIOD_PARAMS = ("quarter", "period_start", "period_end")
PAGE_PARAMS = ("page", "order", "months")


# ---------------------------------------------------------------------------------------------
# Drill-down links


def page_url(api_url: str | None, paths: tuple[str, str] | None = None) -> str | None:
    """The dashboard list for a stats `drilldown` (/api/v1/items/?…): same query, page path.
    `paths`: (the items list's API path, the page's), when the caller has them already."""
    if not api_url:
        return None
    items_path, base = paths or (reverse("item-list"), reverse("dashboard-items"))
    path, _, query = api_url.partition("?")
    if path != items_path:
        raise ValueError(f"not an items-list drill-down: {api_url}")
    return f"{base}?{query}" if query else base


def with_page_links(node):
    """Every {count, drilldown, …} in stats output gains `link`, its page URL (None when the figure has
    none). The two paths are looked up once: a province's unit ranking holds some twelve thousand."""
    paths = (reverse("item-list"), reverse("dashboard-items"))

    def visit(node):
        if isinstance(node, dict):
            for value in node.values():
                visit(value)
            if "drilldown" in node:
                node["link"] = page_url(node["drilldown"], paths)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(node)
    return node


# ---------------------------------------------------------------------------------------------
# Parsing


def without_blanks(params: QueryDict) -> QueryDict:
    """An empty form field means "no filter" (the page's script leaves them out; a browser without
    it sends `urgency=`), where the API would refuse an empty choice."""
    cleaned = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [v for v in values if v.strip() != ""]
        if kept:
            cleaned.setlist(key, kept)
    return cleaned


def _messages(errors: Mapping) -> dict[str, list[str]]:
    return {str(field): [str(m) for m in messages] for field, messages in errors.items()}


def parse(*, user: User, params: Mapping) -> tuple[stats.Scope, dict]:
    """The same checks as the stats API's StatsView.parse: one InvalidInput naming every bad field."""
    query = DashboardQueryInput(data=params)
    filterset = stats.item_filterset(user=user, params=params)
    errors: dict[str, list[str]] = {}
    if not query.is_valid():
        errors.update(_messages(query.errors))
    if not filterset.is_valid():
        errors.update(_messages(filterset.errors))
    if errors:
        raise InvalidInput(fields=errors)
    data = dict(query.validated_data)
    now = timezone.now()
    period = stats.period_from(
        start=data.get("period_start"), end=data.get("period_end"), quarter=data.get("quarter"), today=timezone.localdate(now)
    )
    return stats.stats_scope(user=user, params=params, period=period, now=now, filterset=filterset), data


# ---------------------------------------------------------------------------------------------
# Item lists


@lru_cache(maxsize=8)
def _item_path_parts(script_prefix: str) -> tuple[str, str]:
    marker = "987654321"
    head, tail = reverse("web-item", args=[int(marker)]).split(marker)
    return head, tail


def item_path(pk: int) -> str:
    """The 事项 page of an item: `reverse("web-item")` looked up once per mount point (a list
    page links every row, twice; reversing each took a fifth of the 台账's Python)."""
    head, tail = _item_path_parts(get_script_prefix())
    return f"{head}{pk}{tail}"


@dataclass
class ItemRow:
    id: int
    code: str
    title: str
    lead_unit: str
    owner: str
    deadline: datetime.date | None
    status: str
    status_label: str
    light: str
    light_label: str
    overdue_days: int | None
    url: str


def _rows(items, today: datetime.date) -> list[ItemRow]:
    rows = []
    for item in items:
        overdue = item.light == Light.OVERDUE
        rows.append(
            ItemRow(
                id=item.pk,
                code=item.code,
                title=item.title,
                lead_unit=item.lead_unit.name if item.lead_unit_id else "",
                owner=str(item.owner) if item.owner_id else "",
                deadline=item.deadline,
                status=item.status,
                status_label=ITEM_STATUS_LABELS.get(item.status, item.status),
                light=item.light,
                light_label=LIGHT_LABELS[item.light],
                overdue_days=(today - item.deadline).days if overdue and item.deadline else None,
                url=item_path(item.pk),
            )
        )
    return rows


def _filtered_items(user: User, params: Mapping):
    filterset = ItemFilterSet(params, queryset=selectors.item_rows(user=user))
    if not filterset.is_valid():
        raise InvalidInput(fields=_messages(filterset.errors))
    return filterset.qs


def item_page(
    *, user: User, params: Mapping, page_number=1, per_page: int | None = None, capped: bool = False
) -> tuple[Page, list[ItemRow]]:
    """One page of the items list for these filters: ItemFilterSet over the visible items, as the API list.
    `capped`: counted only up to selectors.COUNT_CAP (or one row past the page), `page.paginator.total`
    saying "more than" beyond."""
    qs = _filtered_items(user, params)
    if capped:
        paginator = selectors.CappedPaginator(qs, per_page or PAGE_SIZE, page_number=page_number)
    else:
        paginator = Paginator(qs, per_page or PAGE_SIZE)
    page = paginator.get_page(page_number)
    return page, _rows(page.object_list, timezone.localdate())


# ---------------------------------------------------------------------------------------------
# The dashboard


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def is_rate_key(key: str) -> bool:
    """`implementation_rate`, `on_time_rate_original`, `implementation_rate_current`…: a rate is
    named `<name>_rate` or `<name>_rate_<basis>`; its text is `<key>_text`."""
    return not key.endswith("_text") and (key.endswith("_rate") or "_rate_" in key)


def with_rate_texts(node):
    """Every rate in stats output (`is_rate_key`) gains `<key>_text`, the percentage shown."""
    if isinstance(node, dict):
        for key in [k for k in node if is_rate_key(k)]:
            node[f"{key}_text"] = _percent(node[key])
        for value in node.values():
            with_rate_texts(value)
    elif isinstance(node, list):
        for value in node:
            with_rate_texts(value)
    return node


def _rate(key: str, label: str, value: float | None) -> dict:
    return {"key": key, "label": label, "value": value, "text": _percent(value)}


def current_quarter(today: datetime.date) -> str:
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def workbook_url(*, params: Mapping, period: stats.Period, today: datetime.date) -> tuple[str, str]:
    """The quarterly review workbook for the selected quarter (this quarter when none is) and the filters."""
    quarter = period.quarter or current_quarter(today)
    keep = [
        (key, value)
        for key in params
        if key not in PERIOD_PARAMS + PAGE_PARAMS
        for value in (params.getlist(key) if hasattr(params, "getlist") else [params[key]])
        if value != ""
    ]
    return quarter, f"{WORKBOOK_PATH}?{urlencode([('quarter', quarter), *keep])}"


def _overdue_preview(user: User, summary: dict) -> dict | None:
    """The first page of the overdue figure's own drill-down list, most overdue first."""
    drilldown = summary["overdue"]["drilldown"]
    if not drilldown:
        return None
    params = QueryDict(urlsplit(drilldown).query, mutable=True)
    params["ordering"] = OVERDUE_ORDERING
    page, rows = item_page(user=user, params=params, per_page=OVERDUE_PREVIEW)
    return {"rows": rows, "count": page.paginator.count, "link": f"{page_url(drilldown)}&ordering={OVERDUE_ORDERING}"}


def _charts(units: list[dict], trend: list[dict]) -> dict:
    """What dashboard.js draws: plain numbers and the page links behind every bar and point."""
    return {
        "trend": {
            "months": [m["month"] for m in trend],
            "series": [
                {
                    "key": key,
                    "name": label,
                    "data": [m[key]["count"] for m in trend],
                    "links": [m[key]["link"] for m in trend],
                }
                for key, label in (
                    ("created", _("新立项")),
                    ("closed", _("销号")),
                    ("overdue_at_month_end", _("月末超期")),
                )
            ],
        },
        "ranking": {
            "units": [u["unit"]["name"] for u in units],
            "series": [
                {
                    "key": key,
                    "name": label,
                    "data": [u["lead"][key]["count"] for u in units],
                    "links": [u["lead"][key]["link"] for u in units],
                }
                for key, label in (("due", _("应办结")), ("closed", _("已办结")), ("overdue", _("超期")))
            ],
        },
    }


def _figures(scope: stats.Scope, data: Mapping) -> tuple[tuple, tuple, tuple]:
    """The page's three figures, each with when it was computed (shared; see stats_cache)."""
    months = stats.trend_months(period=scope.period, months=data["months"], today=scope.today)
    return (
        cached(scope, stats.summary),
        cached(scope, stats.by_unit, order=data["order"]),
        cached(scope, stats.trend, months),
    )


def dashboard(*, user: User, params: Mapping) -> dict:
    """Everything the dashboard shows, from the stats functions the API calls with the same scope."""
    scope, data = parse(user=user, params=params)
    (summary, summary_at), (units, units_at), (trend, trend_at) = _figures(scope, data)
    stages, _stages_at = cached(scope, stage_durations)
    scores, _scores_at = cached(scope, unit_scores)
    summary = with_page_links(summary)
    units = with_rate_texts(with_page_links(units))
    trend = with_page_links(trend)
    quarter, workbook = workbook_url(params=params, period=scope.period, today=scope.today)
    return {
        "period": scope.period,
        # The oldest of the figures shown (shared figures may lag a recent write by a few seconds).
        "as_of": min(summary_at, units_at, trend_at),
        "summary": summary,
        "rates": [
            _rate("implementation_rate", _("落实率"), summary["implementation_rate"]),
            _rate("on_time_rate_original", _("按原定时限按时办结率"), summary["on_time_rate_original"]),
            _rate("on_time_rate_extended", _("按现时限按时办结率（参考）"), summary["on_time_rate_extended"]),
            _rate("overdue_rate", _("超期率"), summary["overdue_rate"]),
            _rate("completion_rate", _("办结率"), summary["completion_rate"]),
            _rate("in_progress_rate", _("在办率"), summary["in_progress_rate"]),
            _rate("stale_rate", _("停滞率"), summary["stale_rate"]),
        ],
        "units": units,
        "trend": trend,
        "definitions": definitions_panel(),
        "scores": with_page_links(scores),
        "stages": [{**row, "stage_list": [{"key": key, **row[key]} for key in STAGES]} for row in with_page_links(stages)],
        "overdue": _overdue_preview(user, summary),
        "charts": _charts(units, trend),
        "order": data["order"],
        "workbook_quarter": quarter,
        "workbook_url": workbook,
        "burden": burden_panel(user=user, today=scope.today),
    }
