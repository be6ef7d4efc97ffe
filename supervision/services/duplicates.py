"""Duplicate matters (DOMAIN.md rule 12: 多头督查、重复督查): the same unit must not be chased for the same
matter by several items.

- Every item's matching signature is stored (ItemSignature), refreshed by the item services when the
  title, requirement, units or instruction change, so a lookup never segments the ledger's text.
- `duplicate_candidates(...)` looks, among the items the caller may see, at the same lead unit's
  open items (drafts, running, suspended) and those closed within DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS,
  and returns the ones the detector (supervision.matching) takes for the same matter, best first,
  with a score and reasons in Chinese. On PostgreSQL the pool is scored in SQL from an index of its
  items' characters (migration 0029) and compared best bound first; SQLite reads the whole pool.
- Registration (`item_register`) shows them before saving: PossibleDuplicate (409) unless the office
  confirms the new item is another matter; that answer is remembered as a dismissed pair.
- OA intake and Excel import accept the row and raise 疑似重复 (`suspicions_raise`) for the office to
  confirm or dismiss (`suspicion_decide`). One row per unordered pair, whatever its status, so a
  dismissed pair is never raised again. Nothing is merged without a person deciding.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import PendingEvent, audit_record, audit_record_many
from supervision.choices import SuspicionStatus
from supervision.errors import NotVisible, TransitionNotAllowed
from supervision.matching import Match, Signature, compare, conflicting, duplicate_threshold, signature
from supervision.models import DuplicateSuspicion, Instruction, Item, ItemLink
from supervision.services import candidate_pool as pool
from supervision.services.guards import require_office
from supervision.services.signatures import matter_of, signatures_parsed


class PossibleDuplicate(TransitionNotAllowed):
    """409: the item looks like one already on the ledger; the body lists the candidates. Send it
    again with confirm_not_duplicate=true if it is another matter."""

    default_code = "possible_duplicate"


@dataclass(frozen=True)
class Candidate:
    """An item the new one may duplicate: the score (0..1) and why, in Chinese."""

    item: Item
    score: float
    reasons: list[str]

    @property
    def reason(self) -> str:
        return "，".join(self.reasons)

    def as_dict(self) -> dict:
        item = self.item
        return {
            "id": item.pk,
            "code": item.code,
            "title": item.title,
            "status": item.status,
            "status_display": str(item.get_status_display()),
            "lead_unit": item.lead_unit.name if item.lead_unit_id else None,
            "score": self.score,
            "reasons": list(self.reasons),
            "reason": self.reason,
        }


_NARROW_AT_MOST = 4  # saved items per candidates_many call scored in SQL (intake, one item)
_PARSE_CHUNK = 64  # signatures parsed at a time while the best candidates are sought


def _best(matches: list[tuple[float, int, list[str]]], limit: int | None, items: dict[int, Item]) -> list[Candidate]:
    matches.sort(key=lambda m: (-m[0], m[1]))
    return [
        Candidate(item=items[pk], score=score, reasons=reasons)
        for score, pk, reasons in matches[: limit or settings.DUBAN_DUPLICATE_MAX_CANDIDATES]
    ]


def _duplicate(new: Signature, other: Signature | None, threshold: float) -> Match | None:
    """The comparison when the detector takes the two for one matter, else None. A conflict decides
    before any score (`conflicting`, a fifth of the cost of `compare`)."""
    if other is None or conflicting(new, other):
        return None
    match = compare(new, other, threshold=threshold)
    return match if match.duplicate else None


def _scored_matches(
    *, user: User, new: Signature, unit_id: int, now: datetime.datetime, threshold: float, limit: int | None, excluded: set[int]
) -> list[tuple[float, int, list[str]]]:
    """The best `limit` duplicates of `new` in the unit's pool, visible to `user` (PostgreSQL). The
    pool is scored in SQL (an upper bound of each item's score, best first); signatures are parsed
    and compared in that order until no item left can beat the `limit`-th match found, so the
    result is the one comparing every item would give."""
    scored = [(pk, bound) for pk, bound in pool.scored_rows(new, unit_id, now, threshold) if pk not in excluded]
    keep = pool.visible_in_pool(user, [unit_id], [pk for pk, _bound in scored], now) if scored else set()
    scored = [(pk, bound) for pk, bound in scored if pk in keep]
    wanted = limit or settings.DUBAN_DUPLICATE_MAX_CANDIDATES
    matches: list[tuple[float, int, list[str]]] = []
    for at in range(0, len(scored), _PARSE_CHUNK):
        chunk = scored[at : at + _PARSE_CHUNK]
        parsed = signatures_parsed(pk for pk, _bound in chunk)
        for pk, bound in chunk:
            if len(matches) >= wanted and bound < matches[wanted - 1][0]:
                return matches  # sorted by bound: no item left can enter the best `wanted`
            match = _duplicate(new, parsed.get(pk), threshold)
            if match is not None:
                matches.append((match.score, pk, match.reasons))
                matches.sort(key=lambda m: (-m[0], m[1]))
    return matches


def lookup(
    *, user: User, new: Signature, lead_unit: Unit | None, exclude_item_ids: Sequence[int] = (), limit: int | None = None
) -> list[Candidate]:
    """The visible items at `lead_unit` that the detector takes for the same matter as `new`."""
    if lead_unit is None:
        return []  # the same matter is chased at one lead unit; without one there is nothing to compare
    threshold = duplicate_threshold()
    excluded = set(exclude_item_ids)
    now = timezone.now()
    if pool.narrowing():
        matches = _scored_matches(
            user=user, new=new, unit_id=lead_unit.pk, now=now, threshold=threshold, limit=limit, excluded=excluded
        )
    else:
        reach = pool.may_match(new, threshold)
        hopeful = [pk for pk, _unit, chars in pool.pool_rows(user, [lead_unit.pk], now) if pk not in excluded and reach(chars)]
        matches = []
        for pk, other in signatures_parsed(hopeful).items():
            match = _duplicate(new, other, threshold)
            if match is not None:
                matches.append((match.score, pk, match.reasons))
    items = Item.objects.select_related("lead_unit").in_bulk([pk for _s, pk, _r in matches]) if matches else {}
    return _best(matches, limit, items)


def candidates_many(
    *,
    user: User,
    items: Sequence[Item],
    limit: int | None = None,
    signatures: dict[int, Signature] | None = None,
    fresh: bool = False,
) -> dict[int, list[Candidate]]:
    """Candidates for items already saved (an intake or an import), in a fixed number of queries
    however many items: each unit's pool is read once (a few items: each is scored in SQL). Pairs
    already raised or decided (in either order) and items linked to one of them are left out; so is
    every item of `items` itself. `signatures`: the items' own, when the caller has just computed
    them; `fresh`: the items were created in this transaction, so no pair or link can name them yet."""
    threshold = duplicate_threshold()
    units = {item.lead_unit_id for item in items if item.lead_unit_id}
    if not units:
        return {}
    new_ids = [item.pk for item in items if item.lead_unit_id]
    own = signatures if signatures is not None else signatures_parsed(new_ids)
    now = timezone.now()
    known: dict[int, set[int]] = {pk: {pk} for pk in new_ids}
    pairs: list[tuple[int, int]] = []
    if not fresh:
        pairs += DuplicateSuspicion.objects.filter(Q(item_id__in=new_ids) | Q(candidate_id__in=new_ids)).values_list(
            "item_id", "candidate_id"
        )
        pairs += (
            ItemLink.objects.filter(unlinked_at__isnull=True)
            .filter(Q(item_id__in=new_ids) | Q(lead_id__in=new_ids))
            .values_list("item_id", "lead_id")
        )
    for a, b in pairs:
        known.get(a, set()).add(b)
        known.get(b, set()).add(a)
    found: dict[int, list[tuple[float, int, list[str]]]] = {}
    # A batch (an import) reads each unit's pool whole: a query per item would cost more than one
    # read of the pools (bench/README.md); a few items (intake) are scored in SQL one by one.
    if pool.narrowing() and len(new_ids) <= _NARROW_AT_MOST:
        for item in items:
            if item.lead_unit_id and item.pk in own:
                found[item.pk] = _scored_matches(
                    user=user,
                    new=own[item.pk],
                    unit_id=item.lead_unit_id,
                    now=now,
                    threshold=threshold,
                    limit=limit,
                    excluded=known[item.pk],
                )
    else:
        by_unit: dict[int, list[tuple[int, str]]] = {}
        for pk, unit, chars in pool.pool_rows(user, units, now):
            by_unit.setdefault(unit, []).append((pk, chars or ""))
        pairs_to_compare: list[tuple[int, int]] = []
        for item in items:
            new = own.get(item.pk)
            if new is None:
                continue
            reach = pool.may_match(new, threshold)
            pairs_to_compare += [
                (item.pk, pk) for pk, chars in by_unit.get(item.lead_unit_id, []) if pk not in known[item.pk] and reach(chars)
            ]
        others = signatures_parsed(pk for _new, pk in pairs_to_compare)
        for new_pk, pk in pairs_to_compare:
            match = _duplicate(own[new_pk], others.get(pk), threshold)
            if match is not None:
                found.setdefault(new_pk, []).append((match.score, pk, match.reasons))
    found = {new_pk: matches for new_pk, matches in found.items() if matches}
    ids = {pk for matches in found.values() for _s, pk, _r in matches}
    rows_by_id = Item.objects.select_related("lead_unit").in_bulk(list(ids)) if ids else {}
    return {new_pk: _best(matches, limit, rows_by_id) for new_pk, matches in found.items()}


def duplicate_candidates(
    *,
    user: User,
    title: str,
    requirement: str = "",
    lead_unit: Unit | None,
    supporting_units: Sequence[Unit] = (),
    instruction: Instruction | None = None,
    exclude_item_ids: Sequence[int] = (),
    limit: int | None = None,
) -> list[Candidate]:
    """Items on the ledger (visible to `user`) that may be the same matter at the same unit, best
    first, each with a score and a reason people can read (「同一牵头单位，事项名称相似度 0.86，地点一致」)."""
    new = signature(
        matter_of(
            title=title, requirement=requirement, lead_unit=lead_unit, supporting_units=supporting_units, instruction=instruction
        )
    )
    return lookup(user=user, new=new, lead_unit=lead_unit, exclude_item_ids=exclude_item_ids, limit=limit)


def duplicate_check(*, actor: User, **matter) -> list[Candidate]:
    """The dry run of registration: the candidates `item_register` would show, nothing saved."""
    require_office(actor)
    return duplicate_candidates(user=actor, **matter)


def candidates_for_item(*, user: User, item: Item, limit: int | None = None) -> list[Candidate]:
    """Candidates for an item already saved, leaving out pairs already raised or decided."""
    return candidates_many(user=user, items=[item], limit=limit).get(item.pk, [])


# ---------------------------------------------------------------------------------------------
# Registration, intake, import


def suspicions_raise(
    *,
    actor: User,
    items: Sequence[Item],
    source: str,
    signatures: dict[int, Signature] | None = None,
    fresh: bool = False,
) -> list[DuplicateSuspicion]:
    """疑似重复 for items just accepted from an OA push or an import: one suspicion per candidate
    (at most DUBAN_DUPLICATE_MAX_CANDIDATES per item), each recorded in the audit trail. Runs in
    the caller's transaction, in a fixed number of queries whatever the number of items. Two items
    of the same batch that look alike are one pair, raised once."""
    found = candidates_many(user=actor, items=items, signatures=signatures, fresh=fresh)
    raised: dict[tuple[int, int], DuplicateSuspicion] = {}
    for item_id, candidates in found.items():
        for c in candidates:
            key = (min(item_id, c.item.pk), max(item_id, c.item.pk))
            if key not in raised:
                raised[key] = DuplicateSuspicion(
                    item_id=item_id, candidate=c.item, score=c.score, reasons=c.reasons, source=source
                )
    if not raised:
        return []
    created = DuplicateSuspicion.objects.bulk_create(list(raised.values()), ignore_conflicts=True)
    stored = list(
        DuplicateSuspicion.objects.filter(
            item_id__in=[s.item_id for s in created], status=SuspicionStatus.PENDING, source=source, decided_at__isnull=True
        ).select_related("candidate")
    )
    audit_record_many(
        actor=actor,
        events=[
            PendingEvent(
                action="duplicate_suspected",
                object_type="duplicatesuspicion",
                object_id=s.pk,
                # Named in the data, not as the event's item: an imported item's history starts with its import.
                item_id=None,
                comment=_("疑似与 %(code)s 重复：%(reason)s") % {"code": s.candidate.code, "reason": s.reason_text},
                data={"item_id": s.item_id, "candidate_id": s.candidate_id, "score": s.score, "source": source},
            )
            for s in stored
        ],
    )
    return stored


# ---------------------------------------------------------------------------------------------
# The office decides


@transaction.atomic
def suspicion_decide(
    *,
    actor: User,
    suspicion: DuplicateSuspicion,
    confirm: bool,
    comment: str = "",
    link: bool = False,
    count_once: bool = True,
) -> DuplicateSuspicion:
    """The office confirms (the same matter) or dismisses (another matter) a suspicion. A
    confirmation may link the newer item to the older one as its lead (合并督办) in the same step;
    otherwise nothing is merged."""
    require_office(actor)
    suspicion = DuplicateSuspicion.objects.select_for_update().filter(pk=suspicion.pk).first()
    visible = (
        Item.objects.visible_to(actor).filter(pk__in=[suspicion.item_id, suspicion.candidate_id]).count() if suspicion else 0
    )
    if suspicion is None or visible != 2:
        raise NotVisible()
    if suspicion.status != SuspicionStatus.PENDING:
        raise TransitionNotAllowed(
            _("该疑似重复已处理（%(status)s），不能重复处理。") % {"status": suspicion.get_status_display()},
            code="suspicion_decided",
        )
    suspicion.status = SuspicionStatus.CONFIRMED if confirm else SuspicionStatus.DISMISSED
    suspicion.decided_by = actor
    suspicion.decided_at = timezone.now()
    suspicion.comment = comment or ""
    suspicion.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        actor=actor,
        action="duplicate_confirmed" if confirm else "duplicate_dismissed",
        obj=suspicion,
        item=suspicion.item,
        comment=comment,
        data={"candidate_id": suspicion.candidate_id, "score": suspicion.score, "link": bool(confirm and link)},
    )
    if confirm and link:
        from supervision.services.links import item_link

        item_link(actor=actor, item=suspicion.item, lead=suspicion.candidate, count_once=count_once, comment=comment)
    return suspicion
