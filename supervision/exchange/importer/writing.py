"""The import service: read, validate, then write the whole ledger in one transaction (all rows or
none), with one audit event per record written through `audit_record_many`."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision import workcalendar
from supervision.audit import PendingEvent, audit_record_many
from supervision.choices import (
    AssignmentRole,
    CounterSeries,
    ImportPhase,
    ItemStatus,
    ReportKind,
    SuspicionSource,
)
from supervision.exchange.importer.cells import SIGNED_STATUSES
from supervision.exchange.importer.reading import Sheet, read_bytes, read_sheet
from supervision.exchange.importer.results import ImportResult, Progress, no_progress
from supervision.exchange.importer.validation import Validator
from supervision.matching import MatterText
from supervision.models import DeadlineSpan, Instruction, Item, ItemAssignment, ProgressReport
from supervision.services.candidate_pool import LIVE_STATUSES
from supervision.services.counters import counter_take
from supervision.services.deadlines import spans_for_new_items
from supervision.services.duplicates import suspicions_raise
from supervision.services.guards import require_office
from supervision.services.signatures import instruction_ref, signatures_store


def ledger_import(
    *,
    actor: User,
    file,
    dry_run: bool,
    progress: Progress | None = None,
    file_name: str | None = None,
) -> ImportResult:
    """Import a ledger workbook: validate every row, then (unless `dry_run`, and only when no row has
    an error) write everything in one transaction. `progress(phase, done, total)` is called while it
    works. Raises NotPermitted for non-office users and InvalidInput (field `file`) for a file that is
    not a readable ledger; row problems are returned in `ImportResult.errors`, not raised."""
    require_office(actor, _("只有督查室工作人员可以导入台账。"))
    progress = progress or no_progress
    data, name = read_bytes(file)
    name = file_name or name
    sha256 = hashlib.sha256(data).hexdigest()
    result = ImportResult(dry_run=dry_run, file_name=name, sha256=sha256)
    progress(ImportPhase.READING, 0, 0)
    sheet = read_sheet(data)
    result.rows_total = len(sheet.rows)
    now = timezone.now()
    validator = Validator(actor=actor, sheet=sheet, progress=progress, now=now)
    # Warning dates and reminder schedules do calendar arithmetic for every row: read the calendar once.
    with workcalendar.calendar_preloaded():
        validator.run()
    result.errors = sorted(validator.errors, key=lambda e: e.row or 0)
    result.summary = _summary(validator, sheet)
    if result.errors or dry_run or not validator.planned:
        return result
    progress(ImportPhase.WRITING, 0, len(validator.planned))
    result.item_ids = _write(actor=actor, validator=validator, file_name=name, sha256=sha256, now=now)
    result.written = True
    result.summary["codes"] = _code_range(validator)
    progress(ImportPhase.DONE, len(validator.planned), len(validator.planned))
    return result


def _summary(validator: Validator, sheet: Sheet) -> dict:
    used = {p.group for p in validator.planned}
    instructions = [validator.instructions[k] for k in validator.instructions if k in used]
    return {
        "sheet": sheet.title,
        "header_row": sheet.header_row,
        "rows": len(sheet.rows),
        "items": len(validator.planned),
        "instructions_new": sum(1 for i in instructions if not i.existing),
        "instructions_reused": sum(1 for i in instructions if i.existing),
        "reports": sum(1 for p in validator.planned if p.progress_text),
        "by_status": dict(Counter(str(ItemStatus(p.item.status).label) for p in validator.planned)),
        "by_lead_unit": dict(Counter(p.lead_name for p in validator.planned)),
        "skipped": validator.skipped,
    }


def _code_range(validator: Validator) -> list[str]:
    codes = [p.item.code for p in validator.planned]
    return [codes[0], codes[-1]] if codes else []


@transaction.atomic
def _write(*, actor: User, validator: Validator, file_name: str, sha256: str, now: datetime.datetime) -> list[int]:
    planned = validator.planned
    # Codes in one block: the counter row is locked for the rest of the transaction, so concurrent
    # item_create calls wait and then continue after the block.
    year = timezone.localdate(now).year
    first = counter_take(series=CounterSeries.LEDGER, year=year, count=len(planned))
    for offset, p in enumerate(planned):
        p.item.code = f"DB-{year}-{first + offset:04d}"

    used = list(dict.fromkeys(p.group for p in planned))
    new_instructions = [validator.instructions[k].instruction for k in used if not validator.instructions[k].existing]
    Instruction.objects.bulk_create(new_instructions)
    for p in planned:
        p.item.instruction = validator.instructions[p.group].instruction
    Item.objects.bulk_create([p.item for p in planned])
    DeadlineSpan.objects.bulk_create(spans_for_new_items([p.item for p in planned]))

    assignments = []
    reports = []
    for p in planned:
        signed = now if p.item.status in SIGNED_STATUSES else None
        assignments.append(
            ItemAssignment(item=p.item, unit_id=p.item.lead_unit_id, role=AssignmentRole.LEAD, acknowledged_at=signed)
        )
        assignments.extend(
            ItemAssignment(item=p.item, unit_id=unit_id, role=AssignmentRole.SUPPORTING, acknowledged_at=signed)
            for unit_id in p.supporting_ids
        )
        if p.progress_text:
            reports.append(
                ProgressReport(
                    item=p.item,
                    unit_id=p.item.lead_unit_id,
                    kind=ReportKind.STAGE,
                    progress_text=p.progress_text,
                    submitted_by=actor,
                    submitted_at=now,
                )
            )
    ItemAssignment.objects.bulk_create(assignments)
    ProgressReport.objects.bulk_create(reports)
    report_ids = {r.item_id: r.pk for r in reports}

    source = {"file": file_name, "sha256": sha256}
    events = [
        PendingEvent(
            action="instruction_imported",
            object_type="instruction",
            object_id=instruction.pk,
            data={**source, "title": instruction.title, "row": validator.instructions[k].first_row},
        )
        for k, instruction in zip([k for k in used if not validator.instructions[k].existing], new_instructions, strict=True)
    ]
    for p in planned:
        item = p.item
        data = {**source, "row": p.row, "code": item.code, "instruction_id": item.instruction_id}
        if p.source_code and p.source_code != item.code:
            data["source_code"] = p.source_code
        if item.status in SIGNED_STATUSES:
            data["signed_per_ledger"] = True  # the units' sign-off comes from the ledger, not from a signature here
        if item.pk in report_ids:
            data["report_id"] = report_ids[item.pk]
        events.append(
            PendingEvent(
                action="item_imported",
                object_type="item",
                object_id=item.pk,
                item_id=item.pk,
                to_status=item.status,
                comment=_("由 Excel 台账导入（%(file)s 第 %(row)s 行）") % {"file": file_name, "row": p.row},
                data=data,
            )
        )
    audit_record_many(actor=actor, events=events)
    # Rows for matters already on the ledger are accepted but marked 疑似重复 for the office. Items
    # imported as done get their signatures when a lookup first needs them.
    live = [p for p in planned if p.item.status in LIVE_STATUSES]
    signatures = signatures_store([(p.item, _matter(p, validator)) for p in live])
    suspicions_raise(actor=actor, items=[p.item for p in live], source=SuspicionSource.IMPORT, signatures=signatures, fresh=True)
    return [p.item.pk for p in planned]


def _matter(p, validator: Validator) -> MatterText:
    """What the duplicate detector reads of a planned row. Supporting units are left out: the
    lookup compares items of one lead unit only, where they do not move the score."""
    instruction = validator.instructions[p.group].instruction
    return MatterText(
        title=p.item.title,
        text=p.item.requirement,
        lead_unit=p.lead_name or "",
        source_kind=instruction.kind,
        instruction_ref=instruction_ref(instruction),
    )
