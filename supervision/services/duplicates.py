"""Duplicate matters (DOMAIN.md rule 12: 多头督查、重复督查): the same unit must not be chased for the same
matter by several items.

- Every item's matching signature is stored (ItemSignature), refreshed by the item services when the
  title, requirement, units or instruction change, so a lookup never segments the ledger's text.
- `duplicate_candidates(...)` looks, among the items the caller may see, at the same lead unit's
  open items (drafts, running, suspended) and those closed within DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS,
  and returns the ones the detector (supervision.matching) takes for the same matter, best first,
  with a score and reasons in Chinese.
- Registration (`item_register`) shows them before saving: PossibleDuplicate (409) unless the office
  confirms the new item is another matter; that answer is remembered as a dismissed pair.
- OA intake and Excel import accept the row and raise 疑似重复 (`suspicions_raise`) for the office to
  confirm or dismiss (`suspicion_decide`). One row per unordered pair, whatever its status, so a
  dismissed pair is never raised again. Nothing is merged without a person deciding.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import PendingEvent, audit_record, audit_record_many
from supervision.choices import DONE_STATUSES, OPEN_STATUSES, ItemStatus, SuspicionStatus
from supervision.errors import NotVisible, TransitionNotAllowed
from supervision.matching import MatterText, Signature, compare, duplicate_threshold, signature
from supervision.matching.score import SAME_INSTRUCTION_BONUS
from supervision.models import DuplicateSuspicion, Instruction, Item, ItemLink, ItemSignature
from supervision.services.guards import require_office

# Statuses in which a second item for the same matter would chase the unit twice.
LIVE_STATUSES = (ItemStatus.DRAFT, *OPEN_STATUSES, ItemStatus.SUSPENDED)


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


# ---------------------------------------------------------------------------------------------
# Signatures


def instruction_ref(instruction: Instruction | None) -> str:
    """What tells two items' instructions apart: the document number, else the record itself."""
    if instruction is None:
        return ""
    return instruction.document_number or f"批示件#{instruction.pk}"


def matter_of(
    *,
    title: str,
    requirement: str = "",
    lead_unit: Unit | None = None,
    supporting_units: Sequence[Unit] = (),
    instruction: Instruction | None = None,
) -> MatterText:
    return MatterText(
        title=title or "",
        text=requirement or "",
        lead_unit=lead_unit.name if lead_unit else "",
        supporting_units=tuple(u.name for u in supporting_units),
        source_kind=instruction.kind if instruction else "",
        instruction_ref=instruction_ref(instruction),
    )


def _chars(sig: Signature) -> str:
    return "".join(sorted(set(sig.title_chars) | set(sig.body_chars)))


def signatures_refresh(*, item_ids: Iterable[int]) -> int:
    """Compute and store the signatures of these items (after they were created or their text,
    units or instruction changed). Returns how many were written."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return 0
    items = Item.objects.filter(pk__in=ids).select_related("lead_unit", "instruction").prefetch_related("assignments__unit")
    matters = []
    for item in items:
        supporting = [a.unit for a in item.assignments.all() if a.unit_id != item.lead_unit_id]
        matter = matter_of(
            title=item.title,
            requirement=item.requirement,
            lead_unit=item.lead_unit,
            supporting_units=supporting,
            instruction=item.instruction,
        )
        matters.append((item, matter))
    return len(signatures_store(matters))


def signatures_store(matters: Sequence[tuple[Item, MatterText]]) -> dict[int, Signature]:
    """Store the signatures of saved items whose text the caller has in hand (an import): one
    query. Returns them by item id."""
    now = timezone.now()
    out: dict[int, Signature] = {}
    rows = []
    for item, matter in matters:
        sig = out[item.pk] = signature(matter)
        rows.append(
            ItemSignature(item=item, lead_unit_id=item.lead_unit_id, data=sig.to_json(), chars=_chars(sig), computed_at=now)
        )
    if rows:
        ItemSignature.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["item"], update_fields=["lead_unit", "data", "chars", "computed_at"]
        )
    return out


# ---------------------------------------------------------------------------------------------
# The lookup


def _may_reach(new: Signature, limit: float) -> Callable[[str], bool]:
    """A test of another item's characters alone: False when it cannot reach `limit`, an exact upper
    bound. Its similarity is the mean of two coverages, the other side's at most 1, and a shared
    instruction adds at most the bonus; so the share of the new item's title or body weight whose
    characters the other has must reach 2 × (limit − bonus) − 1. Built once per new item, run over
    the whole pool (tens of thousands of rows at a large unit): one set intersection per row."""
    need = 2.0 * (limit - SAME_INSTRUCTION_BONUS) - 1.0 - 1e-9  # a hair lower: rounding never drops a match
    title, body = new.title_chars, new.body_chars
    title_need = need * new.title_weight if new.title_weight else math.inf
    body_need = need * new.body_weight if new.body_weight else math.inf
    keys = frozenset(title) | frozenset(body)

    def reach(chars: str) -> bool:
        common = keys.intersection(chars)
        return sum(title.get(ch, 0.0) for ch in common) >= title_need or sum(body.get(ch, 0.0) for ch in common) >= body_need

    return reach


def _pool(user: User, unit_ids: Iterable[int], now: datetime.datetime):
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


def _pool_rows(user: User, unit_ids: Iterable[int], now: datetime.datetime) -> list[tuple[int, int, str]]:
    """(item id, lead unit id, characters) of the pool, computing signatures that are missing."""
    # Unordered: the pool is scored whole and the candidates sorted by score (a sort of 40,000 rows
    # by id cost 10-15 % of the query at the largest unit of a 1M ledger).
    rows = list(_pool(user, unit_ids, now).order_by().values_list("pk", "lead_unit_id", "signature__chars"))
    missing = [pk for pk, _unit, chars in rows if chars is None]
    if missing:  # items from before signatures were stored: computed once, here
        signatures_refresh(item_ids=missing)
        found = dict(ItemSignature.objects.filter(item_id__in=missing).values_list("item_id", "chars"))
        rows = [(pk, unit, found.get(pk, "") if chars is None else chars) for pk, unit, chars in rows]
    return rows


def _signature_data(ids: list[int], chunk: int = 5000) -> Iterator[tuple[int, str]]:
    """(item id, stored data) of these items: the ids as one array parameter per query (thousands of
    them at a large unit: as many IN placeholders cost more to send and parse than the read, and a
    server-side cursor a round trip per few hundred rows), `chunk` rows in memory at a time."""
    table = connection.ops.quote_name(ItemSignature._meta.db_table)
    for start in range(0, len(ids), chunk):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT item_id, data FROM {table} WHERE item_id = ANY(%s)", [ids[start : start + chunk]])
            yield from cursor.fetchall()


def _parsed(item_ids: Iterable[int]) -> dict[int, Signature]:
    """The stored signatures of these items, parsed (one query per 5,000; an older version is recomputed)."""
    ids = list(set(item_ids))
    out: dict[int, Signature] = {}
    if not ids:
        return out
    stale = []
    for pk, data in _signature_data(ids):
        try:
            out[pk] = Signature.from_json(data)
        except ValueError:
            stale.append(pk)
    if stale or len(out) < len(ids):
        redo = stale + [pk for pk in ids if pk not in out and pk not in stale]
        signatures_refresh(item_ids=redo)
        out.update(
            (pk, Signature.from_json(data))
            for pk, data in ItemSignature.objects.filter(item_id__in=redo).values_list("item_id", "data")
        )
    return out


def _best(matches: list[tuple[float, int, list[str]]], limit: int | None, items: dict[int, Item]) -> list[Candidate]:
    matches.sort(key=lambda m: (-m[0], m[1]))
    return [
        Candidate(item=items[pk], score=score, reasons=reasons)
        for score, pk, reasons in matches[: limit or settings.DUBAN_DUPLICATE_MAX_CANDIDATES]
    ]


def lookup(
    *, user: User, new: Signature, lead_unit: Unit | None, exclude_item_ids: Sequence[int] = (), limit: int | None = None
) -> list[Candidate]:
    """The visible items at `lead_unit` that the detector takes for the same matter as `new`."""
    if lead_unit is None:
        return []  # the same matter is chased at one lead unit; without one there is nothing to compare
    threshold = duplicate_threshold()
    excluded = set(exclude_item_ids)
    rows = _pool_rows(user, [lead_unit.pk], timezone.now())
    reach = _may_reach(new, threshold)
    hopeful = [pk for pk, _unit, chars in rows if pk not in excluded and reach(chars or "")]
    matches = []
    for pk, other in _parsed(hopeful).items():
        match = compare(new, other, threshold=threshold)
        if match.duplicate:
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
    however many items: each unit's pool is read once. Pairs already raised or decided (in either
    order) and items linked to one of them are left out; so is every item of `items` itself.
    `signatures`: the items' own, when the caller has just computed them; `fresh`: the items were
    created in this transaction, so no pair or link can name them yet."""
    threshold = duplicate_threshold()
    units = {item.lead_unit_id for item in items if item.lead_unit_id}
    if not units:
        return {}
    new_ids = [item.pk for item in items if item.lead_unit_id]
    own = signatures if signatures is not None else _parsed(new_ids)
    rows = _pool_rows(user, units, timezone.now())
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
    by_unit: dict[int, list[tuple[int, str]]] = {}
    for pk, unit, chars in rows:
        by_unit.setdefault(unit, []).append((pk, chars or ""))
    wanted: list[tuple[int, int]] = []
    for item in items:
        new = own.get(item.pk)
        if new is None:
            continue
        reach = _may_reach(new, threshold)
        for pk, chars in by_unit.get(item.lead_unit_id, []):
            if pk not in known[item.pk] and reach(chars):
                wanted.append((item.pk, pk))
    others = _parsed(pk for _new, pk in wanted)
    found: dict[int, list[tuple[float, int, list[str]]]] = {}
    for new_pk, pk in wanted:
        match = compare(own[new_pk], others[pk], threshold=threshold)
        if match.duplicate:
            found.setdefault(new_pk, []).append((match.score, pk, match.reasons))
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
