"""The pool a new item is compared with for duplicates (services/duplicates.py): the visible items at
the same lead unit, live or closed lately, not themselves linked to a lead (`pool_items`), and how its
rows are read. On PostgreSQL a GIN index over ItemSignature.keys (migration 0026) hands over only the
rows that hold one of the new item's heaviest characters (`wanted_chars`, `narrowed_rows`), bounded
exactly by `may_match` before any signature is parsed; visibility is decided last, by the one rule
(`visible_in_pool`). SQLite (the embedded demo) reads the whole pool (`pool_rows`)."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from supervision.choices import DONE_STATUSES, OPEN_STATUSES, ItemStatus
from supervision.matching import Signature
from supervision.matching.score import SAME_INSTRUCTION_BONUS
from supervision.models import Item, ItemLink, ItemSignature
from supervision.services.signatures import signatures_refresh

# Statuses in which a second item for the same matter would chase the unit twice.
# Statuses in which a second item for the same matter would chase the unit twice.
LIVE_STATUSES = (ItemStatus.DRAFT, *OPEN_STATUSES, ItemStatus.SUSPENDED)


def _need(limit: float) -> float:
    """What the two coverages of one side (title, or title and text) must add up to for the score to
    reach `limit`: the similarity is their mean, a shared instruction adds at most the bonus, and
    the score is rounded to 3 decimals; a hair lower for the float sums."""
    return 2.0 * (limit - SAME_INSTRUCTION_BONUS - 0.0005) - 1e-6


def _covers_at_most(cum: str | None, n: int) -> float:
    """The share of another item's weight (on one side) that n of its characters carry at most, from
    its stored cumulative shares (migration 0026); 1 when unknown."""
    if not n:
        return 0.0
    if not cum or n > len(cum):
        return 1.0
    return (ord(cum[n - 1]) - 256) / 1000


def may_match(new: Signature, limit: float) -> Callable[[str, str | None, str | None], bool]:
    """A test of another item's characters and cumulative shares: False when it cannot reach
    `limit`, an exact upper bound. The similarity of a side is the mean of two coverages and a
    shared instruction adds at most the bonus. The new item's coverage is known exactly from the
    shared characters; the other's is at most what as many of its heaviest characters carry, or 1
    when its shares are not known (SQLite: the characters alone bound the score). Built once per new
    item, run over every row read: one set intersection per row."""
    need = _need(limit)
    sides = []
    for side, (weights, total) in enumerate(((new.title_chars, new.title_weight), (new.body_chars, new.body_weight))):
        if total:
            # What its k heaviest characters carry, rounded up: with k shared, the new item's coverage
            # is at most that, which rejects most rows before any sum.
            acc, heaviest = 0.0, []
            for weight in sorted(weights.values(), reverse=True):
                acc += weight
                heaviest.append(acc / total + 1e-6)
            sides.append((weights, total, side, heaviest))
    keys = frozenset(new.title_chars) | frozenset(new.body_chars)

    def test(chars: str, cum_title: str | None = None, cum_body: str | None = None) -> bool:
        common = keys.intersection(chars)
        if not common:
            return need <= 0.0
        n = len(common)
        for weights, total, side, heaviest in sides:
            cum = cum_body if side else cum_title
            most = 1.0 if not cum or n > len(cum) else (ord(cum[n - 1]) - 256) / 1000  # _covers_at_most, inlined
            if heaviest[min(n, len(heaviest)) - 1] + most < need:
                continue
            shared = [weights[ch] for ch in common if ch in weights]
            if sum(shared) / total + _covers_at_most(cum, len(shared)) >= need:
                return True
        return need <= 0.0

    return test


def pool_items(user: User, unit_ids: Iterable[int], now: datetime.datetime):
    """The items a new one is compared with: visible, at these lead units, live or closed lately,
    not themselves linked to a lead (the lead represents them)."""
    window = datetime.timedelta(days=settings.DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS)
    linked = ItemLink.objects.filter(item=OuterRef("pk"), unlinked_at__isnull=True)
    return (
        Item.objects.visible_to(user)
        .filter(lead_unit_id__in=list(unit_ids))
        .filter(Q(status__in=LIVE_STATUSES) | Q(status__in=DONE_STATUSES, closed_at__gte=now - window))
        .exclude(Exists(linked))
    )


def pool_rows(user: User, unit_ids: Iterable[int], now: datetime.datetime) -> list[tuple[int, int, str]]:
    """(item id, lead unit id, characters) of the pool, computing signatures that are missing."""
    # Unordered: the pool is scored whole and the candidates sorted by score (a sort of 40,000 rows
    # by id cost 10-15 % of the query at the largest unit of a 1M ledger).
    rows = list(pool_items(user, unit_ids, now).order_by().values_list("pk", "lead_unit_id", "signature__chars"))
    # None: items from before signatures were stored; "": the placeholder PostgreSQL's triggers keep
    # until the services store one (migration 0026). Computed once, here.
    missing = [pk for pk, _unit, chars in rows if not chars]
    if missing:
        signatures_refresh(item_ids=missing)
        found = dict(ItemSignature.objects.filter(item_id__in=missing).values_list("item_id", "chars"))
        rows = [(pk, unit, found.get(pk, "") if not chars else chars) for pk, unit, chars in rows]
    return rows


# On PostgreSQL the pool is narrowed in SQL first (migration 0026): `keys` holds each signature's
# characters tagged with its lead unit and pool bucket under a GIN index, `pool_until` its pool
# membership, `cum_title`/`cum_body` its cumulative shares, all kept by triggers. A row that misses
# all of the new item's heaviest characters cannot pass `may_match`, so asking for the rows that
# hold one of them drops no candidate. Visibility and pool membership are then decided by `pool_items`
# on the matches alone.
# A key is unit id << 29 | bucket << 21 | code point; the bucket is 0 while live, else 1 + the
# month of pool_until (UTC, from year 0) modulo 255 (migration 0026, duban_signature_keys).
_UNIT_SHIFT = 29


_BUCKET_SHIFT = 21


def _buckets(cutoff: datetime.datetime, now: datetime.datetime) -> list[int]:
    """The key buckets of a pool from `cutoff` to `now`: live, and every month in between."""
    start, end = cutoff.astimezone(datetime.UTC), now.astimezone(datetime.UTC)
    months = range(start.year * 12 + start.month - 1, end.year * 12 + end.month)
    return [0, *sorted({1 + month % 255 for month in months})]


Row = tuple[int, int, str, "str | None", "str | None"]


def narrowing() -> bool:
    return connection.vendor == "postgresql"


def _heaviest(weights: dict[str, float], need: float) -> set[str] | None:
    """The fewest heaviest characters without which the rest weighs less than `need`: a row holding
    none of them shares less than `need` of this side (what `may_match` asks). None when every row
    may reach `need` (nothing can be left out)."""
    if need == math.inf:
        return set()  # this side cannot reach (no weight): it asks for no character
    rest = math.fsum(weights.values())
    if need <= 1e-6:
        return None
    out: set[str] = set()
    # A hair past `need`: the float sums here and in `may_match` may round differently.
    for ch, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        if rest < need - 1e-6:
            break
        out.add(ch)
        rest -= weight
    return out


def wanted_chars(new: Signature, limit: float) -> set[str] | None:
    """The characters of which a row must hold one to pass `may_match(new, limit)` (title or body);
    None when no such set exists (a threshold so low that every row passes)."""
    need = _need(limit) - 1.0  # the other side's coverage is at most 1
    title = _heaviest(new.title_chars, need * new.title_weight if new.title_weight else math.inf)
    body = _heaviest(new.body_chars, need * new.body_weight if new.body_weight else math.inf)
    if title is None or body is None:
        return None
    return title | body


def narrowed_rows(wanted: dict[int, set[str]], now: datetime.datetime) -> list[Row]:
    """(item id, lead unit id, characters, cumulative shares of title and body) of the signatures in
    the pool of each unit that hold one of the unit's wanted characters, through the GIN index;
    placeholders (no signature computed yet) are computed here, as `pool_rows` does. Not filtered
    by visibility: the caller checks that on what it keeps (`visible_in_pool`)."""
    cutoff = now - datetime.timedelta(days=settings.DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS)
    keys = []
    for unit, chars in wanted.items():
        for bucket in _buckets(cutoff, now):
            base = unit << _UNIT_SHIFT | bucket << _BUCKET_SHIFT
            keys.append(base)  # the placeholder key: a row whose characters are not known yet
            keys.extend(base | ord(ch) for ch in chars)
    table = connection.ops.quote_name(ItemSignature._meta.db_table)
    columns = "item_id, lead_unit_id, chars, cum_title, cum_body"
    sql = f"SELECT {columns} FROM {table} WHERE keys && %(keys)s::bigint[] AND pool_until >= %(cutoff)s"
    params = {"keys": keys, "cutoff": cutoff}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    missing = [row[0] for row in rows if not row[2]]
    if missing:
        signatures_refresh(item_ids=missing)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table} WHERE item_id = ANY(%s)", [missing])
            found = {row[0]: row for row in cursor.fetchall()}
        rows = [found.get(row[0], row) if not row[2] else row for row in rows]
    return rows


def visible_in_pool(user: User, unit_ids: Iterable[int], item_ids: Iterable[int], now: datetime.datetime) -> set[int]:
    """Which of these items are in the units' pool and visible to `user`, by the one rule (`pool_items`,
    `visible_to`): the indexed columns only narrow the search, this decides."""
    ids = list(set(item_ids))
    if not ids:
        return set()
    return set(pool_items(user, unit_ids, now).filter(pk__in=ids).values_list("pk", flat=True))
