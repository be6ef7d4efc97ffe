"""Matching signatures (supervision.matching) of the items on the ledger, stored in ItemSignature so a
duplicate lookup never segments the ledger's text: what an item says as the detector reads it
(`matter_of`), computing and storing signatures (`signatures_refresh`, `signatures_store`) and reading
them back parsed (`signatures_parsed`). The item services refresh them when the title, requirement,
units or instruction change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from django.db import connection
from django.utils import timezone

from accounts.models import Unit
from supervision.matching import MatterText, Signature, signature
from supervision.models import Instruction, Item, ItemSignature


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


def signature_chars(sig: Signature) -> str:
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
            ItemSignature(
                item=item, lead_unit_id=item.lead_unit_id, data=sig.to_json(), chars=signature_chars(sig), computed_at=now
            )
        )
    if rows:
        ItemSignature.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["item"], update_fields=["lead_unit", "data", "chars", "computed_at"]
        )
    return out


def _signature_data(ids: list[int], chunk: int = 5000) -> Iterator[tuple[int, str]]:
    """(item id, stored data) of these items: the ids as one array parameter per query (thousands of
    them at a large unit: as many IN placeholders cost more to send and parse than the read, and a
    server-side cursor a round trip per few hundred rows), `chunk` rows in memory at a time."""
    if connection.vendor != "postgresql":  # SQLite (the embedded demo) has no arrays: the ORM's IN, in small chunks
        for start in range(0, len(ids), 900):
            yield from ItemSignature.objects.filter(item_id__in=ids[start : start + 900]).values_list("item_id", "data")
        return
    table = connection.ops.quote_name(ItemSignature._meta.db_table)
    for start in range(0, len(ids), chunk):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT item_id, data FROM {table} WHERE item_id = ANY(%s)", [ids[start : start + chunk]])
            yield from cursor.fetchall()


def signatures_parsed(item_ids: Iterable[int]) -> dict[int, Signature]:
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
