"""The columns themselves: read from the database in COPY's binary format, kept per process and
database, brought up to date from the items migration 0030 marks as changed; and the nightly
comparison with a fresh read."""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping, Sequence

import numpy as np
from django.conf import settings
from django.db import connections

from supervision.choices import AssignmentRole, InstructionKind, ItemStatus, ReportingCycle, Urgency

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
    """A timestamp (or a time of day) as microseconds since the epoch (since midnight)."""
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


ITEMS = "supervision_item i JOIN supervision_instruction ins ON ins.id = i.instruction_id"


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
        "deadline_time": _micros("i.deadline_time"),
        "warning_date": _day("i.warning_date"),
        "closed_day": _day("i.closed_at", zone),
        "assigned_day": _day("i.assigned_at", zone),
        "assigned_at": _micros("i.assigned_at"),
        "created_day": _day("i.created_at", zone),
        "last_report_at": _micros("i.last_report_at"),
        "progress_streak": "i.progress_streak",
        "reopen_count": "i.reopen_count",
    }


def _child_queries(zone: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Per child table the figures read: (table and alias, the rows read, their columns)."""
    return {
        "assignments": (
            "supervision_itemassignment a",
            "TRUE",
            {"item": "a.item_id", "unit": "a.unit_id", "role": _code("a.role", ROLES)},
        ),
        "spans": (
            "supervision_deadlinespan a",
            "TRUE",
            {
                "item": "a.item_id",
                "deadline": _day("a.deadline"),
                "valid_from_day": _day("a.valid_from", zone),
                "valid_until_day": _day("a.valid_until", zone),
            },
        ),
        "visits": (  # failed return visits only
            "supervision_returnvisit a",
            "a.result = 'failed'",
            {
                "item": "a.item_id",
                "visited_on": _day("a.visited_on"),
                "reopened_closure_day": _day("a.reopened_closure_at", zone),
                "created_day": _day("a.created_at", zone),
            },
        ),
    }


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
        items = _copy(cursor, _item_columns(zone), ITEMS, "TRUE")
        order = np.argsort(items["id"], kind="stable")
        self.items = {name: column[order] for name, column in items.items()}
        for name, (source, where, columns) in _child_queries(zone).items():
            self.children[name] = _copy(cursor, columns, source, where)
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
        changed = _copy(cursor, _item_columns(zone), ITEMS, "i.stats_xid >= %s", (self.since,))
        if not len(changed["id"]):
            return
        ids = self.items["id"]
        changed_ids = np.sort(changed["id"])
        fresh = {
            name: _copy(cursor, columns, source, f"{where} AND a.item_id = ANY(%s)", (changed_ids.tolist(),))
            for name, (source, where, columns) in _child_queries(zone).items()
        }
        positions = np.searchsorted(ids, changed["id"])
        known = (positions < len(ids)) & (ids[np.minimum(positions, len(ids) - 1)] == changed["id"])
        for name, column in changed.items():
            self.items[name][positions[known]] = column[known]
        moved = False
        if (~known).any():
            order = np.argsort(changed["id"][~known])
            new = {name: column[~known][order] for name, column in changed.items()}
            merged = {name: np.concatenate([self.items[name], new[name]]) for name in self.items}
            # New items usually come after every held one; one committed out of order moves others.
            moved = len(ids) > 0 and new["id"][0] < ids[-1]
            if moved:
                order = np.argsort(merged["id"], kind="stable")
                merged = {name: column[order] for name, column in merged.items()}
            self.items = merged
        ids = self.items["id"]
        touched = np.zeros(len(ids), dtype=bool)
        touched[np.searchsorted(ids, changed_ids)] = True
        touched_at = np.flatnonzero(touched)
        for name, child in self.children.items():
            held = self.child_pos[name] if not moved else np.searchsorted(ids, child["item"]).astype(np.int32)
            if not moved and _same_rows(child, _rows_of(held, touched_at), fresh[name]):
                continue  # most writes leave an item's units, deadlines and visits as they were
            keep = ~touched[held]
            kept, kept_pos = {column: values[keep] for column, values in child.items()}, held[keep]
            # The changed items' rows, read afresh, slotted in by position (both sides sorted by it).
            fresh_pos = np.searchsorted(ids, fresh[name]["item"]).astype(np.int32)
            order = np.argsort(fresh_pos, kind="stable")
            at = np.searchsorted(kept_pos, fresh_pos[order], "right")
            self.children[name] = {column: np.insert(kept[column], at, fresh[name][column][order]) for column in kept}
            self.child_pos[name] = np.insert(kept_pos, at, fresh_pos[order])


def _rows_of(positions: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The indices of the rows whose item position is one of `wanted` (`positions` sorted)."""
    left, right = np.searchsorted(positions, wanted, "left"), np.searchsorted(positions, wanted, "right")
    count = right - left
    return np.repeat(left, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))


def _same_rows(child: Mapping[str, np.ndarray], rows: np.ndarray, fresh: Mapping[str, np.ndarray]) -> bool:
    """Whether the held rows `rows` of a child table are the fresh ones, in any order."""
    if len(rows) != len(fresh["item"]):
        return False
    names = sorted(child)
    held = np.stack([child[name][rows].astype(np.int64) for name in names])
    new = np.stack([fresh[name].astype(np.int64) for name in names])
    return bool(np.array_equal(held[:, np.lexsort(held)], new[:, np.lexsort(new)]))


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


def _child_digest(ledger: Ledger, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per item (by id, ascending), a digest of its rows in a child table: the sum of a hash of each
    row (so the rows' order does not matter), and the ids it is for."""
    child = ledger.children[name]
    digest = np.zeros(len(child["item"]), dtype=np.uint64)
    for column in sorted(child):
        digest = digest * np.uint64(1_000_003) + child[column].astype(np.int64).view(np.uint64)
    digest ^= digest >> np.uint64(29)
    ids = np.unique(child["item"])
    order = np.argsort(child["item"], kind="stable")
    sums = np.add.reduceat(digest[order], np.searchsorted(child["item"][order], ids)) if len(ids) else digest[:0]
    return ids, sums


def _differing(live: Ledger, fresh: Ledger) -> list[int]:
    """Ids of the items whose columns, units, deadline spans or failed visits differ between two reads."""
    ids = set(np.setxor1d(live.items["id"], fresh.items["id"]).tolist())
    common, in_live, in_fresh = np.intersect1d(live.items["id"], fresh.items["id"], return_indices=True)
    for name, column in live.items.items():
        ids.update(common[column[in_live] != fresh.items[name][in_fresh]].tolist())
    for name in live.children:
        (live_ids, live_sums), (fresh_ids, fresh_sums) = _child_digest(live, name), _child_digest(fresh, name)
        ids.update(np.setxor1d(live_ids, fresh_ids).tolist())
        both, at_live, at_fresh = np.intersect1d(live_ids, fresh_ids, return_indices=True)
        ids.update(both[live_sums[at_live] != fresh_sums[at_fresh]].tolist())
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
    try:
        ledger_for(alias)
    except Exception:  # noqa: BLE001 — a worker must start even if the database is down
        logging.getLogger(__name__).warning("figure columns not read at start", exc_info=True)
    finally:
        connections[alias].close()
