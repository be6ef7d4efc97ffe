"""What a figure counts: the viewer's items (the visibility rule) narrowed by the items list's own
filters, and the period (dates or a quarter). Figures, their drill-down links and the workbook all
start from a `Scope`."""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.choices import COUNTED_STATUSES, DONE_STATUSES
from supervision.conditions import stale_q
from supervision.errors import InvalidInput
from supervision.filtersets import ItemFilterSet
from supervision.models import FigureRules, Item
from supervision.stats import columns

Date = datetime.date


MAX_TREND_MONTHS = 60


_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


def local_start(day: Date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def date_range_q(field: str, start: Date | None, end: Date | None) -> Q:
    """A date field, or a datetime field read as a local date, within [start, end]."""
    q = Q(**{f"{field}__isnull": False})
    is_datetime = field.endswith("_at")
    if start is not None:
        q &= Q(**{f"{field}__gte": local_start(start) if is_datetime else start})
    if end is not None:
        q &= Q(**{f"{field}__lt": local_start(end + datetime.timedelta(days=1))} if is_datetime else {f"{field}__lte": end})
    return q


@dataclass(frozen=True)
class Period:
    start: Date | None
    end: Date | None
    quarter: str | None = None
    explicit: bool = False


def quarter_bounds(text: str) -> tuple[Date, Date]:
    match = _QUARTER.match(text.strip())
    if not match:
        raise InvalidInput(fields={"quarter": [_("季度格式应为“2026Q3”（年份 + Q + 1 到 4）。")]})
    year, q = int(match.group(1)), int(match.group(2))
    first_month = 3 * (q - 1) + 1
    last_month = first_month + 2
    return Date(year, first_month, 1), Date(year, last_month, calendar.monthrange(year, last_month)[1])


def period_from(
    *, start: Date | None = None, end: Date | None = None, quarter: str | None = None, today: Date | None = None
) -> Period:
    """The statistics period from the request (see the module docstring for the defaults)."""
    if quarter:
        if start or end:
            raise InvalidInput(fields={"quarter": [_("quarter 不能与 period_start、period_end 同时使用。")]})
        first, last = quarter_bounds(quarter)
        return Period(first, last, quarter.strip().upper(), explicit=True)
    if start and end and start > end:
        raise InvalidInput(fields={"period_end": [_("统计截止日不能早于起始日。")]})
    if start is None and end is None:
        return Period(None, today or timezone.localdate())
    return Period(start, end, explicit=True)


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


MULTI_PARAMS = ("status", "light", "instruction_kind", "urgency")


RANGE_PARAMS = ("deadline", "original_deadline", "closed", "was_closed", "relapsed", "created", "assigned")


# Stands for a ranking group's value while its drill-down URL is written (Scope.group_drilldown).
_GROUP_PLACEHOLDER = "\u0000group\u0000"


def as_local_date(value) -> Date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def same(given, wanted) -> bool:
    if isinstance(given, Decimal | int) and not isinstance(given, bool):
        return int(given) == int(wanted)
    return given == wanted


def getlist(data: Mapping, key: str) -> list[str]:
    if hasattr(data, "getlist"):
        return data.getlist(key)
    value = data.get(key)
    return [] if value is None else [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def param(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@functools.lru_cache(maxsize=4096)
def query_pair(key: str, value: str) -> str:
    """One `key=value` of a drill-down's query string, exactly as urlencode writes it; a ranking
    writes thousands of drill-downs from a few dozen distinct pairs, so the quoting is cached."""
    return urlencode([(key, value)])


class Scope:
    """The items a statistics request counts, and the list URL behind any figure."""

    def __init__(self, filterset: ItemFilterSet, period: Period, now: datetime.datetime, user: User | None = None):
        self.user = user
        self.period = period
        self.now = now
        self.today = timezone.localdate(now)
        self.cleaned = filterset.form.cleaned_data
        items = filterset.qs.order_by()
        # The list filters never join a multi-valued relation (units go through EXISTS), so the
        # DISTINCT a multiple-choice filter adds would only cost a sort under every aggregate.
        items.query.distinct = False
        self.items: QuerySet[Item] = items
        self._raw: dict[str, list[str]] = {}
        for name, flt in filterset.filters.items():
            if name == "ordering":
                continue
            suffixes = getattr(flt.field.widget, "suffixes", None)
            for key in [f"{name}_{s}" for s in suffixes] if suffixes else [name]:
                values = [v for v in getlist(filterset.data, key) if v != ""]
                if values:
                    self._raw[key] = values
        self._items_url = reverse("item-list")
        self._stale: Q | None = None
        self._group_templates: dict[tuple, tuple[str, ...] | None] = {}
        self._columns: columns.Selection | None | bool = False
        self.memo: dict[str, object] = {}  # what the figures work out once per scope

    @property
    def raw_filters(self) -> tuple[str, ...]:
        """The list filters the request gives (query keys: `deadline_after`, `status`, …)."""
        return tuple(self._raw)

    @property
    def columns(self) -> columns.Selection | None:
        """The scope over this process's figure columns (stats/columns/), or None where the figures
        are counted in SQL; the columns are brought up to date once per scope."""
        if self._columns is False:
            self._columns = columns.selection(self, self.user)
        return self._columns

    # The figure conditions ------------------------------------------------------------------

    def due_q(self) -> Q:
        """Due by the original deadline: extensions and rectification deadlines never move an item
        out of the period it was first due in."""
        return Q(status__in=COUNTED_STATUSES) & self.in_period_q()

    def in_period_q(self) -> Q:
        return date_range_q("original_deadline", self.period.start, self.period.end)

    def in_period_current_q(self) -> Q:
        return date_range_q("deadline", self.period.start, self.period.end)

    def closed_now_in_period_q(self) -> Q:
        """The current closure (closed_at) falls in the period: what the close-time average reads."""
        return date_range_q("closed_at", self.period.start, self.period.end)

    def assigned_q(self) -> Q:
        """Assigned within the period (the denominator of 办结率, 在办率); the status is added up apart."""
        return date_range_q("assigned_at", self.period.start, self.period.end)

    def stale_q(self) -> Q:
        if self._stale is None:
            self._stale = stale_q(self.now, FigureRules.current())
        return self._stale

    def assigned_drill(self, statuses=COUNTED_STATUSES) -> dict:
        return {"status": statuses, "assigned": (self.period.start, self.period.end)}

    def due_drill(self) -> dict:
        return {"status": COUNTED_STATUSES, "original_deadline": (self.period.start, self.period.end)}

    def closed_drill(self) -> dict:
        return {"status": DONE_STATUSES, "original_deadline": (self.period.start, self.period.end)}

    def due_current_drill(self) -> dict:
        return {"status": COUNTED_STATUSES, "deadline": (self.period.start, self.period.end)}

    def closed_current_drill(self) -> dict:
        return {"status": DONE_STATUSES, "deadline": (self.period.start, self.period.end)}

    # Drill-down -----------------------------------------------------------------------------

    def drilldown(self, **constraints) -> str | None:
        """The items list URL for the request's filters and these constraints (filter names as
        keys; a sequence for multiple-choice filters, (after, before) for date ranges); None when
        a constraint contradicts the request's own value of the same filter."""
        params = {key: list(values) for key, values in self._raw.items()}
        for name, wanted in constraints.items():
            given = self.cleaned.get(name)
            if name in MULTI_PARAMS:
                values = [str(v) for v in wanted if not given or v in given]
                if not values:
                    return None
                params[name] = values
            elif name in RANGE_PARAMS:
                after, before = wanted
                if given:
                    given_after, given_before = as_local_date(given.start), as_local_date(given.stop)
                    after = max(d for d in (after, given_after) if d) if (after or given_after) else None
                    before = min(d for d in (before, given_before) if d) if (before or given_before) else None
                params.pop(f"{name}_after", None)
                params.pop(f"{name}_before", None)
                if after:
                    params[f"{name}_after"] = [after.isoformat()]
                if before:
                    params[f"{name}_before"] = [before.isoformat()]
            else:
                if given not in (None, "") and not same(given, wanted):
                    return None
                params[name] = [param(wanted)]
        query = "&".join(query_pair(key, str(value)) for key, values in params.items() for value in values)
        return f"{self._items_url}?{query}" if query else self._items_url

    def group_drilldown(self, group: Mapping, **constraints) -> str | None:
        """`drilldown(**group, **constraints)` for one group of a ranking (`group`: the one filter
        that selects it, e.g. {"lead_unit": 7}). A ranking asks for each figure of hundreds of
        groups, ten thousand URLs that differ only in the group's value, and writing each from
        scratch was most of the ranking's time once the counts were read; so each figure's URL is
        written once around a placeholder for the value. Groups whose filter the request sets
        itself (the URL may then be None) and multiple-choice ones are written whole."""
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in constraints.items())
        return self.group_links(group, {key: constraints})[key]

    def group_links(self, group: Mapping, figures: Mapping[object, Mapping]) -> dict[object, str | None]:
        """`group_drilldown` for several figures of one group at once (`figures`: each figure's
        constraints, by a name that stands for the same constraints in every group of the scope):
        the group's own part of the URL is written once for all of them."""
        if len(group) != 1:
            return {figure: self.drilldown(**group, **constraints) for figure, constraints in figures.items()}
        ((name, value),) = group.items()
        pair = None
        links = {}
        for figure, constraints in figures.items():
            if name in MULTI_PARAMS or name in RANGE_PARAMS or name in constraints or self.cleaned.get(name) not in (None, ""):
                links[figure] = self.drilldown(**group, **constraints)
                continue
            key = (name, figure)
            if key not in self._group_templates:
                url = self.drilldown(**{name: _GROUP_PLACEHOLDER}, **constraints)
                self._group_templates[key] = None if url is None else tuple(url.split(query_pair(name, _GROUP_PLACEHOLDER)))
            template = self._group_templates[key]
            if template is None:
                links[figure] = None  # a constraint contradicts the request's filters, whatever the group
                continue
            pair = pair or query_pair(name, param(value))
            links[figure] = f"{template[0]}{pair}{template[1]}"
        return links

    def figure(self, count: int, **constraints) -> dict:
        return {"count": count, "drilldown": self.drilldown(**constraints)}


def item_filterset(*, user: User, params: Mapping) -> ItemFilterSet:
    """The items list's own filters over the items the user may see."""
    return ItemFilterSet(params, queryset=Item.objects.visible_to(user))


def stats_scope(
    *, user: User, params: Mapping, period: Period, now: datetime.datetime | None = None, filterset: ItemFilterSet | None = None
) -> Scope:
    filterset = filterset or item_filterset(user=user, params=params)
    if not filterset.is_valid():
        raise InvalidInput(fields={k: list(v) for k, v in filterset.errors.items()})
    return Scope(filterset, period, now or timezone.now(), user=user)
