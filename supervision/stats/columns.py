"""The columns the figures read, held in each process as arrays (issue 14: figures at any filter, at a
million items, well under 300 ms).

Counted in SQL, a leader's summary at a million items scans the items' 274 MB of rows and tests
some twenty conditions on each: 0.6–1.8 s whatever the filter, and the rankings and the trend more
(bench/README.md). Aggregates kept beside the ledger do not shrink: the filters' dimensions (unit,
leader, category, urgency, kind, classification) take about as many combinations as there are
items. So each process keeps the two dozen narrow columns the figures read — per item its status,
units, leader, category, dates and times, per unit assignment, per deadline span, per failed return
visit — as numpy arrays (~70 MB at a million items) and counts with vectorized conditions.

Fresh at every request: before counting, the process reads the items changed since its last read
(migration 0030 keeps `stats_xid` on the item, in the database, from triggers: a service,
QuerySet.update, import or admin edit cannot bypass it). A request counts from the committed ledger
as of its start, as a query would.

The same figures, not a second definition: `Selection` computes exactly the conditions of
supervision/conditions.py, lights.py and the `Scope`'s period, over the same scope (the visibility
rule of `ItemQuerySet.visible_to`, the items list's filters). tests/supervision/stats/
test_columns.py compares every figure with the SQL over random ledgers, filters, viewers and
periods. What the columns do not hold falls back to SQL, whole: another filter than those in
`FILTERS`, a viewer whose scope is not held here (OA clients, the referral departments), SQLite,
and a request inside a transaction that has itself written (it must count its own writes)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping, Sequence

import numpy as np
from django.conf import settings
from django.db import connections

from accounts.models import Unit, User
from supervision.choices import (
    BEFORE_ASSIGNMENT_STATUSES,
    DONE_STATUSES,
    OPEN_STATUSES,
    REPORTING_STATUSES,
    WORKING_STATUSES,
    AssignmentRole,
    InstructionKind,
    ItemStatus,
    Light,
    ReportingCycle,
    Urgency,
)
from supervision.conditions import CYCLE_DAYS
from supervision.models import FigureRules

EPOCH = datetime.date(1970, 1, 1)
NULL = -(2**31)  # what a NULL reads as: fits every column's type, and no real value is that low

STATUSES = list(ItemStatus)
KINDS = list(InstructionKind)
URGENCIES = list(Urgency)
CYCLES = list(ReportingCycle)
ROLES = list(AssignmentRole)

# The list filters the columns answer; any other (text, dates, lights…) is counted in SQL.
FILTERS = frozenset(
    {
        "status",
        "unit",
        "lead_unit",
        "owner",
        "category",
        "instruction",
        "instruction_kind",
        "issuing_leader",
        "urgency",
        "classification",
        "supporting_unit",
    }
)


def _code(column: str, choices: Sequence) -> str:
    """A text column as its 1-based position in `choices` (0: none of them)."""
    values = ",".join("'" + str(c.value).replace("'", "''") + "'" for c in choices)
    return f"coalesce(array_position(ARRAY[{values}]::text[], {column}::text), 0)"


def _day(column: str, zone: str | None = None) -> str:
    """A date, or a timestamp's local date, as days since 1970-01-01."""
    local = f"({column} AT TIME ZONE '{zone}')::date" if zone else column
    return f"({local} - DATE '1970-01-01')"


def _micros(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def _item_columns(zone: str) -> dict[str, str]:
    return {
        "id": "i.id",
        "status": _code("i.status", STATUSES),
        "classification": "i.classification",
        "lead_unit": "i.lead_unit_id",
        "owner": "i.owner_id",
        "category": "i.category_id",
        "instruction": "i.instruction_id",
        "kind": _code("ins.kind", KINDS),
        "leader": "ins.issuing_leader_id",
        "urgency": _code("i.urgency", URGENCIES),
        "cycle": _code("i.reporting_cycle", CYCLES),
        "original_deadline": _day("i.original_deadline"),
        "deadline": _day("i.deadline"),
        "deadline_time": "(extract(epoch FROM i.deadline_time) * 1000000)::bigint",
        "warning_date": _day("i.warning_date"),
        "closed_day": _day("i.closed_at", zone),
        "assigned_day": _day("i.assigned_at", zone),
        "assigned_at": _micros("i.assigned_at"),
        "created_day": _day("i.created_at", zone),
        "last_report_at": _micros("i.last_report_at"),
        "progress_streak": "i.progress_streak",
        "reopen_count": "i.reopen_count",
    }


def _child_queries(zone: str) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "assignments": (
            "supervision_itemassignment a",
            {"item": "a.item_id", "unit": "a.unit_id", "role": _code("a.role", ROLES)},
        ),
        "spans": (
            "supervision_deadlinespan s",
            {
                "item": "s.item_id",
                "deadline": _day("s.deadline"),
                "valid_from_day": _day("s.valid_from", zone),
                "valid_until_day": _day("s.valid_until", zone),
            },
        ),
        "visits": (
            "supervision_returnvisit v",
            {
                "item": "v.item_id",
                "visited_on": _day("v.visited_on"),
                "reopened_closure_day": _day("v.reopened_closure_at", zone),
                "created_day": _day("v.created_at", zone),
            },
        ),
    }


# Child rows the figures read: failed return visits only.
CHILD_WHERE = {"assignments": "TRUE", "spans": "TRUE", "visits": "v.result = 'failed'"}

WIDE = frozenset({"deadline_time", "assigned_at", "last_report_at"})  # microseconds: int64; the rest fit int32


def _copy(cursor, columns: Mapping[str, str], source: str, where: str, params: Sequence = ()) -> dict[str, np.ndarray]:
    """Rows as arrays, one per column, through COPY's binary format: every column a non-null bigint
    (NULL as the sentinel), so each row has one fixed layout numpy reads in place."""
    select = ", ".join(f"coalesce(({sql})::bigint, {NULL})" for sql in columns.values())
    query = f"COPY (SELECT {select} FROM {source} WHERE {where}) TO STDOUT (FORMAT BINARY)"
    chunks = []
    with cursor.copy(query, params) as copy:
        for chunk in copy:
            chunks.append(bytes(chunk))
    data = b"".join(chunks)
    fields = [("n", ">i2")]
    for index in range(len(columns)):
        fields += [(f"l{index}", ">i4"), (f"v{index}", ">i8")]
    row = np.dtype(fields)
    header = 19  # signature (11), flags (4), extension length (4): PostgreSQL writes no extension
    count = (len(data) - header - 2) // row.itemsize
    rows = np.frombuffer(data, dtype=row, count=count, offset=header)
    return {name: rows[f"v{i}"].astype(np.int64 if name in WIDE else np.int32) for i, name in enumerate(columns)}


class Ledger:
    """One database's columns in this process, and the point up to which they are current."""

    def __init__(self, alias: str):
        self.alias = alias
        self.lock = threading.Lock()
        self.items: dict[str, np.ndarray] | None = None
        self.children: dict[str, dict[str, np.ndarray]] = {}
        self.child_pos: dict[str, np.ndarray] = {}
        self.since: int | None = None
        self.generation: int | None = None
        self.loads = 0  # whole reads, for the tests

    def _cursor(self):
        connection = connections[self.alias]
        connection.ensure_connection()
        return connection.connection.cursor()

    def refresh(self) -> None:
        """Read what changed since the last read (everything the first time or after a deletion)."""
        zone = settings.TIME_ZONE
        with self.lock, self._cursor() as cursor:
            cursor.execute(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                "(SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM duban_stats_generation)"
            )
            xmin, generation = cursor.fetchone()
            if self.items is None or generation != self.generation:
                self._load(cursor, zone)
            else:
                self._merge(cursor, zone)
            self.since, self.generation = xmin, generation

    def _load(self, cursor, zone: str) -> None:
        self.loads += 1
        items = _copy(
            cursor,
            _item_columns(zone),
            "supervision_item i JOIN supervision_instruction ins ON ins.id = i.instruction_id",
            "TRUE",
        )
        order = np.argsort(items["id"], kind="stable")
        self.items = {name: column[order] for name, column in items.items()}
        for name, (source, columns) in _child_queries(zone).items():
            self.children[name] = _copy(cursor, columns, source, CHILD_WHERE[name])
        self._place_children()

    def _place_children(self) -> None:
        """Each child row's item position; the rows sorted by it, so an item's rows are adjacent."""
        ids = self.items["id"]
        for name, child in self.children.items():
            positions = np.searchsorted(ids, child["item"]).astype(np.int32)
            order = np.argsort(positions, kind="stable")
            self.children[name] = {column: values[order] for column, values in child.items()}
            self.child_pos[name] = positions[order]

    def _merge(self, cursor, zone: str) -> None:
        source = "supervision_item i JOIN supervision_instruction ins ON ins.id = i.instruction_id"
        changed = _copy(cursor, _item_columns(zone), source, "i.stats_xid >= %s", (self.since,))
        if not len(changed["id"]):
            return
        ids = self.items["id"]
        changed_ids = np.sort(changed["id"])
        where = "item_id = ANY(%s)"
        fresh = {}
        for name, (src, columns) in _child_queries(zone).items():
            alias = src.split()[1]
            fresh[name] = _copy(cursor, columns, src, f"{CHILD_WHERE[name]} AND {alias}.{where}", (changed_ids.tolist(),))
        positions = np.searchsorted(ids, changed["id"])
        known = (positions < len(ids)) & (ids[np.minimum(positions, len(ids) - 1)] == changed["id"])
        for name, column in changed.items():
            self.items[name][positions[known]] = column[known]
        moved = False
        if (~known).any():
            new = {name: column[~known] for name, column in changed.items()}
            merged = {name: np.concatenate([self.items[name], new[name]]) for name in self.items}
            # New items usually come after every held one; one committed out of order moves others.
            moved = len(ids) > 0 and new["id"].min() < ids[-1]
            order = np.argsort(merged["id"], kind="stable")
            self.items = {name: column[order] for name, column in merged.items()}
        ids = self.items["id"]
        touched = np.zeros(len(ids), dtype=bool)
        touched[np.searchsorted(ids, changed_ids)] = True
        for name, child in self.children.items():
            held = self.child_pos[name] if not moved else np.searchsorted(ids, child["item"]).astype(np.int32)
            keep = ~touched[held]
            kept, kept_pos = {column: values[keep] for column, values in child.items()}, held[keep]
            # The changed items' rows, read afresh, slotted in by position (both sides sorted by it).
            fresh_pos = np.searchsorted(ids, fresh[name]["item"]).astype(np.int32)
            order = np.argsort(fresh_pos, kind="stable")
            at = np.searchsorted(kept_pos, fresh_pos[order], "right")
            self.children[name] = {column: np.insert(kept[column], at, fresh[name][column][order]) for column in kept}
            self.child_pos[name] = np.insert(kept_pos, at, fresh_pos[order])


_ledgers: dict[tuple, Ledger] = {}
_ledgers_lock = threading.Lock()


def ledger_for(alias: str = "default") -> Ledger | None:
    """This process's columns of the database behind `alias`, brought up to date; None where the
    figures are counted in SQL (not PostgreSQL, switched off, or a transaction that wrote)."""
    connection = connections[alias]
    mode = getattr(settings, "STATS_COLUMNS", True)
    if connection.vendor != "postgresql" or not mode:
        return None
    connection.ensure_connection()
    # "always" (tests only: they build their ledgers in a transaction never committed, and call
    # `forget` around each test) also counts a transaction's own writes from the columns.
    if connection.in_atomic_block and mode != "always":
        with connection.connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
            (wrote,) = cursor.fetchone()
        if wrote:
            return None  # its own uncommitted writes must count, and must not stay in the columns
    key = (alias, connection.settings_dict["NAME"], connection.settings_dict.get("HOST"), connection.settings_dict.get("PORT"))
    with _ledgers_lock:
        ledger = _ledgers.setdefault(key, Ledger(alias))
    ledger.refresh()
    return ledger


def forget() -> None:
    """Drop every process's columns (tests that rebuild the database under the same name)."""
    with _ledgers_lock:
        _ledgers.clear()


# Counting ------------------------------------------------------------------------------------------


def _codes(values: Sequence, choices: Sequence) -> list[int]:
    return [choices.index(v) + 1 for v in values]


def _one_of(codes: np.ndarray, wanted: Sequence[int], count: int) -> np.ndarray:
    """codes in `wanted`, for the 1-based codes of a choice of `count` values (0: none): a lookup,
    several times faster than np.isin."""
    table = np.zeros(count + 1, dtype=bool)
    table[list(wanted)] = True
    return table[codes]


def day_number(day: datetime.date) -> int:
    return (day - EPOCH).days


def _micros_of(moment: datetime.datetime) -> int:
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class Selection:
    """The items of one scope: all the ledger's items with a mask over them or, once a scope is
    narrowed to a part of the ledger (`narrowed`), only that part, gathered into arrays of its own,
    so a small scope costs little however large the ledger."""

    def __init__(self, ledger: Ledger, index: np.ndarray | None = None):
        self.ledger = ledger
        self.index = index  # positions in the ledger of the items held; None: all of them
        self.mask = np.ones(len(ledger.items["id"]) if index is None else len(index), dtype=bool)
        self._columns: dict[str, np.ndarray] = {}
        self._children: dict[str, tuple[dict[str, np.ndarray], np.ndarray]] = {}

    def narrowed(self, mask: np.ndarray) -> Selection:
        """The items of this selection that `mask` keeps; gathered apart when they are few."""
        if self.index is None and mask.sum() > len(mask) // 2:
            selection = Selection(self.ledger)
            selection.mask = mask
            return selection
        kept = np.flatnonzero(mask)
        return Selection(self.ledger, kept if self.index is None else self.index[kept])

    def col(self, name: str) -> np.ndarray:
        if self.index is None:
            return self.ledger.items[name]
        if name not in self._columns:
            self._columns[name] = self.ledger.items[name][self.index]
        return self._columns[name]

    def has(self, name: str) -> np.ndarray:
        return self.col(name) != NULL

    def child(self, name: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """A child table's rows of the items held ("assignments", "spans", "visits"), and the
        position of each row's item in this selection."""
        if self.index is None:
            return self.ledger.children[name], self.ledger.child_pos[name]
        if name not in self._children:
            position = np.full(len(self.ledger.items["id"]), -1, dtype=np.int32)
            position[self.index] = np.arange(len(self.index), dtype=np.int32)
            of_row = position[self.ledger.child_pos[name]]
            held = of_row >= 0
            rows = {column: values[held] for column, values in self.ledger.children[name].items()}
            self._children[name] = (rows, of_row[held])
        return self._children[name]

    def status_in(self, statuses: Sequence) -> np.ndarray:
        return _one_of(self.col("status"), _codes(statuses, STATUSES), len(STATUSES))

    def in_range(self, name: str, start: datetime.date | None, end: datetime.date | None) -> np.ndarray:
        """A day column within [start, end] (either end open when None); NULL never."""
        column = self.col(name)
        result = column != NULL
        if start is not None:
            result &= column >= day_number(start)
        if end is not None:
            result &= column <= day_number(end)
        return result

    def assigned_units(self, unit_ids: Sequence[int], role: str | None = None) -> np.ndarray:
        """Items where one of these units is assigned (as `role`, or either)."""
        child, positions = self.child("assignments")
        rows = np.isin(child["unit"], np.asarray(list(unit_ids), dtype=np.int64))
        if role is not None:
            rows &= child["role"] == ROLES.index(role) + 1
        found = np.zeros(len(self.mask), dtype=bool)
        found[positions[rows]] = True
        return found

    # The conditions of conditions.py and lights.py, over the columns --------------------------

    def closed_on_time(self, basis: str) -> np.ndarray:
        deadline = self.col({"original": "original_deadline", "extended": "deadline"}[basis])
        closed = self.col("closed_day")
        return (closed != NULL) & (deadline != NULL) & (closed <= deadline)

    def running_light(self, light: str, now: datetime.datetime) -> np.ndarray:
        from django.utils import timezone

        local = timezone.localtime(now)
        today = day_number(local.date())
        time_now = (local.hour * 3600 + local.minute * 60 + local.second) * 1_000_000 + local.microsecond
        deadline, deadline_time, warning = self.col("deadline"), self.col("deadline_time"), self.col("warning_date")
        has_deadline = deadline != NULL
        past_due = (
            has_deadline & (deadline <= today) & ((deadline < today) | ((deadline_time != NULL) & (deadline_time < time_now)))
        )
        return {
            Light.OVERDUE: past_due,
            Light.RED: has_deadline & (deadline == today) & ~past_due,
            Light.YELLOW: has_deadline & (deadline > today) & (warning != NULL) & (warning <= today),
            Light.GREEN: has_deadline & (deadline > today) & ((warning == NULL) | (warning > today)),
        }[Light(light)]

    def stale(self, now: datetime.datetime, rules: FigureRules) -> np.ndarray:
        """conditions.stale_q."""
        cycle, last, assigned = self.col("cycle"), self.col("last_report_at"), self.col("assigned_at")
        silent = np.zeros(len(self.mask), dtype=bool)
        for index, value in enumerate(CYCLES, start=1):
            days = CYCLE_DAYS.get(value, rules.stale_default_cycle_days) + rules.stale_grace_days
            cutoff = _micros_of(now - datetime.timedelta(days=days))
            quiet = ((last != NULL) & (last < cutoff)) | ((last == NULL) & (assigned != NULL) & (assigned < cutoff))
            silent |= (cycle == index) & quiet
        return self.status_in(REPORTING_STATUSES) & (silent | (self.col("progress_streak") >= rules.stale_unchanged_reports))


def selection(scope, user: User | None) -> Selection | None:
    """The scope as a Selection, or None when the columns cannot answer it exactly (see the module
    docstring); then the figures count in SQL."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if any(key.split("_after")[0].split("_before")[0] not in FILTERS for key in scope.raw_filters):
        return None
    if user.client_scope or any(user.has_role(role) for role in _referral_roles()):
        return None
    ledger = ledger_for(scope.items.db)
    if ledger is None:
        return None
    sel = Selection(ledger)
    mask = sel.col("classification") <= user.clearance
    if not user.reads_as_office:
        mask &= ~sel.status_in(BEFORE_ASSIGNMENT_STATUSES)
        if not user.has_role(_leader_role()):
            mask &= sel.assigned_units([user.scope_unit_id]) if user.scope_unit_id else False
    mask &= _filtered(sel, scope.cleaned)
    return sel.narrowed(mask)


def _referral_roles():
    from supervision.querysets import REFERRAL_VIEWER_ROLES

    return tuple(REFERRAL_VIEWER_ROLES)


def _leader_role():
    from accounts.choices import Role

    return Role.LEADER


def _filtered(sel: Selection, cleaned: Mapping) -> np.ndarray | bool:
    """The items list's filters (ItemFilterSet) among FILTERS, as it applies them."""
    mask: np.ndarray | bool = True

    def given(name):
        value = cleaned.get(name)
        return None if value in (None, "", [], ()) else value

    if (value := given("status")) is not None:
        mask &= sel.status_in(value)
    if (value := given("unit")) is not None:
        path = Unit.objects.filter(pk=value).values_list("path", flat=True).first()
        subtree = [] if path is None else list(Unit.objects.filter(path__startswith=path).values_list("pk", flat=True))
        mask &= sel.assigned_units(subtree) if subtree else False
    for name, column in (
        ("lead_unit", "lead_unit"),
        ("owner", "owner"),
        ("category", "category"),
        ("instruction", "instruction"),
        ("issuing_leader", "leader"),
        ("classification", "classification"),
    ):
        if (value := given(name)) is not None:
            mask &= sel.col(column) == int(value)
    if (value := given("instruction_kind")) is not None:
        mask &= _one_of(sel.col("kind"), _codes(value, KINDS), len(KINDS))
    if (value := given("urgency")) is not None:
        mask &= _one_of(sel.col("urgency"), _codes(value, URGENCIES), len(URGENCIES))
    if (value := given("supporting_unit")) is not None:
        mask &= sel.assigned_units([int(value)], AssignmentRole.SUPPORTING)
    return mask


# The figures' counts over a Selection (stats/figures.py and trend.py take these instead of their SQL) --


def _as_bits(conditions: Sequence[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """Per item, which conditions it meets, as bits (bit i: conditions[i]); 0 outside `mask`."""
    bits = np.zeros(len(mask), dtype=np.int64)
    for index, condition in enumerate(conditions):
        bits |= (condition & mask).astype(np.int64) << index
    return bits


def _count_by(keys: np.ndarray, bits: np.ndarray, width: int) -> np.ndarray:
    """counts[k, i]: the items with key k whose bit i is set (keys >= 0). Items fall into few
    distinct patterns of bits, so one count per (key, pattern) and a small product with the
    patterns' bits give every condition of every key in one pass over the items."""
    if not len(keys):
        return np.zeros((1, width), dtype=np.int64)
    patterns = np.flatnonzero(np.bincount(bits))
    lookup = np.zeros(int(patterns[-1]) + 1, dtype=np.int64)
    lookup[patterns] = np.arange(len(patterns))
    size = int(keys.max()) + 1
    table = np.bincount(keys * len(patterns) + lookup[bits], minlength=size * len(patterns)).reshape(size, len(patterns))
    return table @ ((patterns[:, None] >> np.arange(width)[None, :]) & 1)


def _per_status(sel: Selection, conditions: Mapping[str, np.ndarray]) -> list[dict]:
    """`summary`'s rows: per status, the items in scope and those meeting each condition."""
    names = ["n", *conditions]
    bits = _as_bits([sel.mask, *conditions.values()], sel.mask)
    chosen = bits != 0
    counts = _count_by(sel.col("status")[chosen].astype(np.int64), bits[chosen], len(names))
    return [
        {"status": STATUSES[code - 1].value, **dict(zip(names, counts[code].tolist(), strict=True))}
        for code in range(1, min(len(STATUSES) + 1, len(counts)))
        if counts[code][0]
    ]


def summary_rows(sel: Selection, scope) -> list[dict]:
    """What `figures.summary` reads from its status scan, the same keys and numbers."""
    start, end = scope.period.start, scope.period.end
    in_period, in_period_current = sel.in_range("original_deadline", start, end), sel.in_range("deadline", start, end)
    with_deadline, assigned = sel.has("deadline"), sel.in_range("assigned_day", start, end)
    original = sel.col("original_deadline")
    conditions = {
        "in_period": in_period,
        "in_period_current": in_period_current,
        "on_time_original": in_period & sel.closed_on_time("original"),
        "on_time_extended": in_period_current & sel.closed_on_time("extended"),
        "with_deadline": with_deadline,
        "overdue_original": (original != NULL) & (original < day_number(scope.today)),
        "closed_now_in_period": sel.in_range("closed_day", start, end),
        "reopened": sel.col("reopen_count") > 0,
        "assigned": assigned,
        "stale": assigned & sel.stale(scope.now, FigureRules.current()),
        **{f"light_{light.value}": with_deadline & sel.running_light(light, scope.now) for light in _running_lights()},
    }
    return _per_status(sel, conditions)


def _running_lights():
    from supervision.stats.scope import RUNNING_LIGHTS

    return RUNNING_LIGHTS


def _items_with_visit(sel: Selection, rows: np.ndarray) -> np.ndarray:
    found = np.zeros(len(sel.mask), dtype=bool)
    found[sel.child("visits")[1][rows]] = True
    return found


def relapsed(sel: Selection, start: datetime.date | None, end: datetime.date | None) -> np.ndarray:
    """conditions.relapsed_q: a failed return visit dated within [start, end]."""
    visited = sel.child("visits")[0]["visited_on"]
    rows = np.ones(len(visited), dtype=bool)
    if start is not None:
        rows &= visited >= day_number(start)
    if end is not None:
        rows &= visited <= day_number(end)
    return _items_with_visit(sel, rows)


def _undone_in(sel: Selection, start: datetime.date | None, end: datetime.date | None) -> np.ndarray:
    """A failed return visit undid a closure made on a local date within [start, end]."""
    day = sel.child("visits")[0]["reopened_closure_day"]
    rows = day != NULL
    if start is not None:
        rows &= day >= day_number(start)
    if end is not None:
        rows &= day <= day_number(end)
    return _items_with_visit(sel, rows)


def return_visit_counts(sel: Selection, scope) -> dict[str, int]:
    """`figures._return_visit_counts`."""
    start, end = scope.period.start, scope.period.end
    closed_now = sel.in_range("closed_day", start, end)
    return {
        "relapsed": int((sel.mask & relapsed(sel, start, end)).sum()),
        "undone": int((sel.mask & ~closed_now & _undone_in(sel, start, end)).sum()),
    }


def _days(values: np.ndarray) -> list[tuple[datetime.date, int]]:
    days, counts = np.unique(values, return_counts=True)
    return [(EPOCH + datetime.timedelta(days=int(d)), int(n)) for d, n in zip(days, counts, strict=True)]


def close_days(sel: Selection, scope) -> tuple[list, list]:
    """`figures._average_workdays_to_close`'s two sides: items closed in the period (and assigned),
    counted per assigned date and per closed date."""
    closed = sel.mask & sel.in_range("closed_day", scope.period.start, scope.period.end) & sel.has("assigned_day")
    return _days(sel.col("assigned_day")[closed]), _days(sel.col("closed_day")[closed])


GROUPED_KEYS = (
    "total",
    "due",
    "closed",
    "on_time_original",
    "due_current",
    "on_time_extended",
    "overdue",
    "assigned",
    "completed",
    "in_progress",
    "stale",
    "relapsed",
)


def group_bits(sel: Selection, scope) -> np.ndarray:
    """Per item, which of a ranking's figures it counts in (`figures._grouped`, the status
    included), as bits (bit i: GROUPED_KEYS[i]; 0 outside the scope); once per Selection, then
    grouped by each ranking."""
    cached = getattr(sel, "_group_bits", None)
    if cached is not None:
        return cached
    start, end = scope.period.start, scope.period.end
    counted, done = sel.status_in(_counted_statuses()), sel.status_in(DONE_STATUSES)
    in_period, in_period_current = sel.in_range("original_deadline", start, end), sel.in_range("deadline", start, end)
    assigned = sel.in_range("assigned_day", start, end)
    conditions = {
        "total": sel.mask,
        "due": counted & in_period,
        "closed": done & in_period,
        "on_time_original": done & in_period & sel.closed_on_time("original"),
        "due_current": counted & in_period_current,
        "on_time_extended": done & in_period_current & sel.closed_on_time("extended"),
        "overdue": sel.status_in(OPEN_STATUSES) & sel.running_light(Light.OVERDUE, scope.now),
        "assigned": counted & assigned,
        "completed": done & assigned,
        "in_progress": sel.status_in(WORKING_STATUSES) & assigned,
        "stale": assigned & sel.stale(scope.now, FigureRules.current()),
        "relapsed": (sel.col("reopen_count") > 0) & relapsed(sel, start, end),
    }
    bits = _as_bits([conditions[key] for key in GROUPED_KEYS], sel.mask)
    sel._group_bits = bits
    return bits


def _counted_statuses():
    from supervision.stats.scope import COUNTED_STATUSES

    return COUNTED_STATUSES


def grouped(sel: Selection, scope, by: str) -> dict[int | str | None, dict[str, int]]:
    """A ranking's counts per group, keyed by the group's value (None: items without one; for
    "kind" the kind's value): by "lead_unit", "supporting_unit" (per SUPPORTING assignment),
    "leader", "category" or "kind". Only groups with an item in scope, as a GROUP BY gives."""
    bits = group_bits(sel, scope)
    if by == "supporting_unit":
        child, positions = sel.child("assignments")
        rows = child["role"] == ROLES.index(AssignmentRole.SUPPORTING) + 1
        bits, keys = bits[positions[rows]], child["unit"][rows]
    else:
        column = {"lead_unit": "lead_unit", "leader": "leader", "category": "category", "kind": "kind"}[by]
        keys = sel.col(column)
    counted = bits != 0
    if by == "lead_unit":
        counted &= keys != NULL  # items without a lead unit are not in the lead ranking
    keys, bits = keys[counted].astype(np.int64), bits[counted]
    keys[keys == NULL] = 0  # ids and codes start at 1: 0 is "none"
    counts = _count_by(keys, bits, len(GROUPED_KEYS))  # (group, figure)
    result = {}
    for key in np.flatnonzero(counts[:, 0]):
        value = None if key == 0 else int(key)
        if by == "kind" and value is not None:
            value = KINDS[value - 1].value
        result[value] = {f"n_{name}": int(n) for name, n in zip(GROUPED_KEYS, counts[key].tolist(), strict=True)}
    return result


def per_month(sel: Selection, column: str, first: datetime.date, last: datetime.date) -> dict[datetime.date, int]:
    """Items in scope whose day column falls within [first, last], per month (first days)."""
    days = sel.col(column)[sel.mask & sel.in_range(column, first, last)]
    start = np.datetime64(first, "M").astype(np.int64)
    counts = np.bincount(days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) - start)
    return {
        np.datetime64(int(start + offset), "M").astype("datetime64[D]").astype(datetime.date): int(counts[offset])
        for offset in np.flatnonzero(counts)
    }


def undone_closures_per_month(sel: Selection, first: datetime.date, last: datetime.date) -> dict[datetime.date, int]:
    """`trend._undone_closures_per_month`: per month, items in scope a failed return visit reopened of
    a closure made that month, unless their current closure is in the same month."""
    visits, positions = sel.child("visits")
    day = visits["reopened_closure_day"]
    rows = (day != NULL) & (day >= day_number(first)) & (day <= day_number(last)) & sel.mask[positions]
    month = day[rows].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    items = positions[rows]
    closed = sel.col("closed_day")[items]
    closed_month = np.where(closed == NULL, -1, closed.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64))
    pairs = np.unique(np.stack([items, month])[:, closed_month != month], axis=1) if len(items) else np.empty((2, 0), np.int64)
    months, counts = np.unique(pairs[1], return_counts=True)
    return {
        np.datetime64(int(m), "M").astype("datetime64[D]").astype(datetime.date): int(n)
        for m, n in zip(months, counts, strict=True)
    }


def overdue_at_month_ends(sel: Selection, month_ends: Sequence[datetime.date]) -> list[int]:
    """`trend._overdue_at_month_ends` for past month ends: per month end D, the items in scope (not
    draft or cancelled) assigned by D, not closed by D by their current closure, whose deadline span
    in force at the end of D had a deadline before D; less those a failed return visit reopened after
    D of a closure made by D. Each span counts over a run of month ends, so one pass: the run's first
    and last index by binary search, added up with a difference array."""
    if not month_ends:
        return []
    ends = np.array([day_number(d) for d in month_ends], dtype=np.int64)
    order = np.argsort(ends)
    sorted_ends = ends[order]
    spans, positions = sel.child("spans")
    counted = sel.mask & sel.status_in(_counted_statuses()) & sel.has("assigned_day")
    rows = counted[positions]
    pos = positions[rows]
    big = np.int64(2**40)
    closed = sel.col("closed_day")[pos]
    until = spans["valid_until_day"][rows]
    # D counts when: D >= valid_from, D >= assigned, D > deadline; D < valid_until, D < closed.
    low = np.maximum.reduce([spans["valid_from_day"][rows], sel.col("assigned_day")[pos], spans["deadline"][rows] + 1])
    high = np.minimum(np.where(until == NULL, big, until), np.where(closed == NULL, big, closed))
    total = _runs(sorted_ends, low, high)
    # Closed at D by a closure a failed visit undid later: reopened_closure_day <= D < visit's day.
    visits, visit_pos = sel.child("visits")
    vrows = (visits["reopened_closure_day"] != NULL) & counted[visit_pos]
    if vrows.any():
        # Pair each such visit with its item's spans (few items: a failed visit's); the spans are
        # sorted by item (Ledger._place_children), so an item's spans are one run of `pos`.
        vitems = visit_pos[vrows]
        left = np.searchsorted(pos, vitems, "left")
        right = np.searchsorted(pos, vitems, "right")
        repeat = right - left
        visit_of_pair = np.repeat(np.arange(len(vitems)), repeat)
        # left[v], left[v] + 1, …, right[v] - 1 for each visit v, in one pass
        offsets = np.arange(len(visit_of_pair)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        span_of_pair = np.repeat(left, repeat) + offsets
        lo = np.maximum(low[span_of_pair], visits["reopened_closure_day"][vrows][visit_of_pair])
        hi = np.minimum(high[span_of_pair], visits["created_day"][vrows][visit_of_pair])
        total -= _runs(sorted_ends, lo, hi)
    result = np.empty(len(ends), dtype=np.int64)
    result[order] = total
    return [int(n) for n in result]


def _runs(sorted_ends: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """For each month end, how many of the intervals [low, high) hold it."""
    first = np.searchsorted(sorted_ends, low, "left")
    stop = np.searchsorted(sorted_ends, high, "left")
    keep = first < stop
    diff = np.zeros(len(sorted_ends) + 1, dtype=np.int64)
    np.add.at(diff, first[keep], 1)
    np.add.at(diff, stop[keep], -1)
    return np.cumsum(diff[:-1])


def overdue_now(sel: Selection, now: datetime.datetime) -> int:
    return int((sel.mask & sel.status_in(OPEN_STATUSES) & sel.running_light(Light.OVERDUE, now)).sum())


# Drift ---------------------------------------------------------------------------------------------


def _differing(live: Ledger, fresh: Ledger) -> list[int]:
    """Ids of the items whose columns, units, deadline spans or failed visits differ between two reads."""
    ids = set(np.setxor1d(live.items["id"], fresh.items["id"]).tolist())
    common, in_live, in_fresh = np.intersect1d(live.items["id"], fresh.items["id"], return_indices=True)
    for name, column in live.items.items():
        ids.update(common[column[in_live] != fresh.items[name][in_fresh]].tolist())
    for name, child in live.children.items():
        rows = [
            tuple(zip(*(c[name][col].tolist() for col in sorted(c[name])), strict=True)) for c in (live.children, fresh.children)
        ]
        ids.update(row[sorted(child).index("item")] for row in set(rows[0]) ^ set(rows[1]))
    return sorted(ids)


def drift(alias: str = "default") -> list[int]:
    """The items this process's columns, brought up to date, hold otherwise than a whole fresh read
    (the nightly check, tasks/stats.py). An item written between the two reads may differ once, so
    differing items are read again and only those that still differ are returned."""
    live = ledger_for(alias)
    if live is None:
        return []
    fresh = Ledger(alias)
    fresh.refresh()
    suspects = _differing(live, fresh)
    if suspects:
        live.refresh()
        fresh = Ledger(alias)
        fresh.refresh()
        suspects = sorted(set(suspects) & set(_differing(live, fresh)))
    return suspects


def warm(alias: str = "default") -> None:
    """Read the columns as a process starts (gunicorn's post_worker_init), not at a leader's first
    request; a database not there yet is left to that first request."""
    import logging

    try:
        ledger_for(alias)
    except Exception:  # noqa: BLE001 — a worker must start even if the database is down
        logging.getLogger(__name__).warning("figure columns not read at start", exc_info=True)
    finally:
        connections[alias].close()
