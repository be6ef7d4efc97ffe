"""A scope as the columns hold it: the visibility rule of `ItemQuerySet.visible_to` and the items
list's filters as masks, and the conditions of supervision/conditions.py and lights.py over the
columns."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import numpy as np
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Unit, User
from supervision.choices import BEFORE_ASSIGNMENT_STATUSES, REPORTING_STATUSES, AssignmentRole, Light
from supervision.conditions import CYCLE_DAYS
from supervision.models import FigureRules
from supervision.querysets import REFERRAL_VIEWER_ROLES
from supervision.stats.columns.store import CYCLES, EPOCH, FILTERS, KINDS, NULL, ROLES, STATUSES, URGENCIES, Ledger, ledger_for


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
        self.memo: dict[str, object] = {}  # what the counts work out once per selection

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
    if user.client_scope or any(user.has_role(role) for role in REFERRAL_VIEWER_ROLES):
        return None
    ledger = ledger_for(scope.items.db)
    if ledger is None:
        return None
    sel = Selection(ledger)
    mask = sel.col("classification") <= user.clearance
    if not user.reads_as_office:
        mask &= ~sel.status_in(BEFORE_ASSIGNMENT_STATUSES)
        if not user.has_role(Role.LEADER):
            mask &= sel.assigned_units([user.scope_unit_id]) if user.scope_unit_id else False
    mask &= _filtered(sel, scope.cleaned)
    return sel.narrowed(mask)


def _filtered(sel: Selection, cleaned: Mapping) -> np.ndarray | bool:
    """The items list's filters (ItemFilterSet) among FILTERS, as it applies them."""
    mask: np.ndarray | bool = True

    def given(name):
        value = cleaned.get(name)
        return None if value in (None, "", [], ()) else value

    if (value := given("status")) is not None:
        mask &= sel.status_in(value)
    if (value := given("unit")) is not None:
        subtree = Unit.objects.subtree_ids(value)
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
