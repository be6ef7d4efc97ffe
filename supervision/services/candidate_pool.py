"""The pool a new item is compared with for duplicates (services/duplicates.py): the visible items at
the same lead unit, live or closed lately, not themselves linked to a lead (`pool_items`), and how its
rows are read. On PostgreSQL an index of the pool items' characters with their weights
(PoolChar, migrations 0028 and 0029) scores every item that shares a character with the new one in SQL,
an upper bound of its score (`scored_rows`), before any signature is parsed; visibility is decided
last, by the one rule (`visible_in_pool`). SQLite (the embedded demo) reads the whole pool
(`pool_rows`) and bounds each row by its characters (`may_match`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from supervision.choices import DONE_STATUSES, OPEN_STATUSES, ItemStatus
from supervision.matching import Signature
from supervision.matching.score import SAME_INSTRUCTION_BONUS
from supervision.models import Item, ItemLink, ItemSignature, PoolChar
from supervision.services.signatures import signatures_refresh

# Statuses in which a second item for the same matter would chase the unit twice.
LIVE_STATUSES = (ItemStatus.DRAFT, *OPEN_STATUSES, ItemStatus.SUSPENDED)


def _need(limit: float) -> float:
    """What the two coverages of one side (title, or title and text) must add up to for the score to
    reach `limit`: the similarity is their mean, a shared instruction adds at most the bonus, and
    the score is rounded to 3 decimals; a hair lower for the float sums."""
    return 2.0 * (limit - SAME_INSTRUCTION_BONUS - 0.0005) - 1e-6


def may_match(new: Signature, limit: float) -> Callable[[str], bool]:
    """A test of another item's characters: False when it cannot reach `limit`, an exact upper
    bound. The similarity of a side is the mean of two coverages: the new item's is known exactly
    from the shared characters, the other's is at most 1. Built once per new item, run over every
    row of a pool read whole (SQLite): one set intersection per row."""
    need = _need(limit) - 1.0
    # Per side: its characters, and the weight the shared ones must reach.
    sides = [
        (frozenset(weights), weights.__getitem__, need * total)
        for weights, total in ((new.title_chars, new.title_weight), (new.body_chars, new.body_weight))
        if total
    ]

    def test(chars: str) -> bool:
        for keys, weight, enough in sides:
            if sum(map(weight, keys.intersection(chars))) >= enough:
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


# On PostgreSQL the pool is scored in SQL first (migration 0029): `supervision_poolchar` holds every
# pool item's characters with the share of its title and of its title and text that each carries,
# kept by triggers. Joined with the new item's characters and shares, it gives per item both
# coverages of both sides: the similarity the detector computes, without reading a signature.
# A key is unit id << 29 | bucket << 21 | code point; the bucket is 0 while live, else 1 + the
# month the item left the pool (UTC, from year 0) modulo 255 (duban_pool_bucket); code point 0 marks
# an item whose signature is not computed yet.
_UNIT_SHIFT = 29
_BUCKET_SHIFT = 21
_CODE_POINT = (1 << _BUCKET_SHIFT) - 1


def _buckets(cutoff: datetime.datetime, now: datetime.datetime) -> list[int]:
    """The key buckets of a pool from `cutoff` to `now`: live, and every month in between."""
    start, end = cutoff.astimezone(datetime.UTC), now.astimezone(datetime.UTC)
    months = range(start.year * 12 + start.month - 1, end.year * 12 + end.month)
    return [0, *sorted({1 + month % 255 for month in months})]


def narrowing() -> bool:
    return connection.vendor == "postgresql"


_SCORED = """
WITH q (key, title_share, body_share) AS (
    SELECT * FROM unnest(%(keys)s::bigint[], %(title)s::float8[], %(body)s::float8[])
)
SELECT item_id, greatest(t, b), placeholder FROM (
    SELECT p.item_id,
           coalesce(sum(p.title_share) FILTER (WHERE q.title_share > 0), 0)
             + coalesce(sum(q.title_share) FILTER (WHERE p.title_share > 0), 0) AS t,
           coalesce(sum(p.body_share) FILTER (WHERE q.body_share > 0), 0)
             + coalesce(sum(q.body_share) FILTER (WHERE p.body_share > 0), 0) AS b,
           bool_or(p.key & %(code_point)s = 0) AS placeholder
      FROM {table} AS p JOIN q ON p.key = q.key
     GROUP BY p.item_id
) AS scored
WHERE placeholder OR t >= %(need)s OR b >= %(need)s
"""


def scored_rows(new: Signature, unit_id: int, now: datetime.datetime, limit: float) -> list[tuple[int, float]]:
    """(item id, upper bound of its score) of the items in the unit's pool whose similarity to `new`
    may reach `limit`, scored in SQL from the characters' index (an index-only scan), best bound
    first. Items whose signature was not computed yet are bounded by 1 (the caller's parse computes it). Not
    filtered by visibility nor by the exact pool rule: the caller decides on what it keeps
    (`visible_in_pool`)."""
    cutoff = now - datetime.timedelta(days=settings.DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS)
    chars = sorted(set(new.title_chars) | set(new.body_chars))
    title = [new.title_chars.get(ch, 0.0) / new.title_weight if new.title_weight else 0.0 for ch in chars]
    body = [new.body_chars.get(ch, 0.0) / new.body_weight if new.body_weight else 0.0 for ch in chars]
    keys, title_shares, body_shares = [], [], []
    for bucket in _buckets(cutoff, now):
        base = unit_id << _UNIT_SHIFT | bucket << _BUCKET_SHIFT
        keys += [base, *(base | ord(ch) for ch in chars)]  # the placeholder's key first
        title_shares += [0.0, *title]
        body_shares += [0.0, *body]
    sql = _SCORED.format(table=connection.ops.quote_name(PoolChar._meta.db_table))
    params = {"keys": keys, "title": title_shares, "body": body_shares, "code_point": _CODE_POINT, "need": _need(limit)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # The score is the larger mean (times a unit factor of at most 1), plus the bonus of a shared
    # instruction, rounded to 3 decimals: at most this.
    bonus = SAME_INSTRUCTION_BONUS if new.instruction_ref else 0.0
    # An item whose signature is not computed yet comes first: parsing it computes it
    # (`signatures_parsed`), and nothing can score above 1 plus the bonus.
    scored = [(pk, 1.0 + bonus if placeholder else total / 2 + bonus + 0.0005 + 1e-6) for pk, total, placeholder in rows]
    scored.sort(key=lambda row: (-row[1], row[0]))
    return scored


def visible_in_pool(user: User, unit_ids: Iterable[int], item_ids: Iterable[int], now: datetime.datetime) -> set[int]:
    """Which of these items are in the units' pool and visible to `user`, by the one rule (`pool_items`,
    `visible_to`): the indexed columns only narrow the search, this decides."""
    ids = list(set(item_ids))
    if not ids:
        return set()
    return set(pool_items(user, unit_ids, now).filter(pk__in=ids).values_list("pk", flat=True))
