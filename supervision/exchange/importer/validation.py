"""Validation of every row before anything is written: each row becomes a planned item (and its
instruction) or a list of row errors in Chinese, naming the row and the column."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Classification
from accounts.models import User
from supervision.choices import (
    OPEN_STATUSES,
    AssignmentRole,
    ImportPhase,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    Urgency,
)
from supervision.exchange.columns import LIST_SEPARATORS
from supervision.exchange.importer.cells import (
    CLASSIFICATION_LABELS,
    DONE,
    KIND_KEYWORDS,
    KIND_LABELS,
    NATURE_LABELS,
    NEEDS_ASSIGNMENT_DATA,
    REPORTED_STATUSES,
    SIGNED_STATUSES,
    STATUS_LABELS,
    URGENCY_LABELS,
    Directory,
    norm,
    parse_date,
    parse_label,
    person_name,
)
from supervision.exchange.importer.reading import COLUMNS_BY_KEY, Sheet, cell_text
from supervision.exchange.importer.results import Progress, RowError
from supervision.models import Instruction, Item, ItemAssignment
from supervision.reminders import policy_for, schedule
from supervision.warning_dates import thresholds, warning_date_for

# How often (in rows) validation reports progress.
PROGRESS_EVERY = 200


@dataclass
class Planned:
    """One valid row, ready to be written."""

    row: int
    group: tuple
    item: Item
    supporting_ids: list[int]
    progress_text: str
    source_code: str
    lead_name: str


@dataclass
class PlannedInstruction:
    key: tuple
    instruction: Instruction
    existing: bool
    rows: list[int] = field(default_factory=list)
    first_row: int = 0
    issued_given: bool = False


class Validator:
    def __init__(self, *, actor: User, sheet: Sheet, progress: Progress, now: datetime.datetime):
        self.actor = actor
        self.sheet = sheet
        self.progress = progress
        self.now = now
        self.today = timezone.localdate(now)
        self.errors: list[RowError] = []
        self.skipped: list[dict] = []
        self.planned: list[Planned] = []
        self.instructions: dict[tuple, PlannedInstruction] = {}
        self.owners: dict[int, dict] = {}  # owner id → the directory's row (name, clearance)

    def error(self, row: int | None, key: str, message: str) -> None:
        self.errors.append(RowError(row, self.sheet.headers.get(key, COLUMNS_BY_KEY[key].header if key else ""), message))

    def run(self) -> None:
        rows = self.sheet.rows
        total = len(rows)
        directory = Directory.load()
        texts = [{k: cell_text(v) for k, v in r.cells.items()} for r in rows]
        existing_codes, existing_keys, instructions_by_doc = self._existing(texts)
        table = thresholds()
        policy_cache: dict = {}
        seen_codes: dict[str, int] = {}
        seen_keys: dict[tuple, int] = {}
        self.progress(ImportPhase.VALIDATING, 0, total)
        for index, (row, cells) in enumerate(zip(rows, texts, strict=True), start=1):
            self._row(row, cells, directory, existing_codes, existing_keys, instructions_by_doc, seen_codes, seen_keys)
            if index % PROGRESS_EVERY == 0:
                self.progress(ImportPhase.VALIDATING, index, total)
        self._check_groups()
        if not self.errors:
            memo: dict = {}
            for planned in self.planned:
                self._schedule(planned.item, table, policy_cache, bool(planned.progress_text), memo)
        self.progress(ImportPhase.VALIDATING, total, total)

    def _existing(self, texts: list[dict]) -> tuple[set[str], set[tuple], dict[str, Instruction]]:
        codes = {c["code"] for c in texts if c.get("code")}
        titles = {c["title"] for c in texts if c.get("title")}
        docs = {c["document_number"] for c in texts if c.get("document_number")}
        visible = Item.objects.visible_to(self.actor)
        existing_codes = set(visible.filter(code__in=codes).values_list("code", flat=True)) if codes else set()
        existing_keys = {
            (title, lead_id, doc or "")
            for title, lead_id, doc in visible.filter(title__in=titles).values_list(
                "title", "lead_unit_id", "instruction__document_number"
            )
        }
        instructions_by_doc: dict[str, Instruction] = {}
        if docs:
            # The newest visible instruction with that 文号 is the one rows attach to.
            for instruction in Instruction.objects.visible_to(self.actor).filter(document_number__in=docs).order_by("pk"):
                instructions_by_doc[instruction.document_number] = instruction
        return existing_codes, existing_keys, instructions_by_doc

    def _row(self, row, cells, directory, existing_codes, existing_keys, instructions_by_doc, seen_codes, seen_keys):
        n = row.number
        errors_before = len(self.errors)

        code = cells.get("code", "")
        if code:
            if code in seen_codes:
                self.error(n, "code", _("台账编号“%(code)s”与第 %(row)s 行重复。") % {"code": code, "row": seen_codes[code]})
                return
            seen_codes[code] = n
            if code in existing_codes:
                self.skipped.append({"row": n, "code": code, "reason": _("台账编号已存在，视为已导入，跳过。")})
                return

        title = cells.get("title", "")
        if not title:
            self.error(n, "title", _("事项名称不能为空。"))
        elif len(title) > 200:
            self.error(n, "title", _("事项名称不能超过 200 个字。"))
        source = cells.get("source", "")
        if not source:
            self.error(n, "source", _("来源/批示领导不能为空。"))
        elif len(source) > 100:
            self.error(n, "source", _("来源/批示领导不能超过 100 个字。"))
        document_number = cells.get("document_number", "")
        if len(document_number) > 100:
            self.error(n, "document_number", _("文号不能超过 100 个字。"))
        instruction_title = cells.get("instruction_title", "")
        if len(instruction_title) > 200:
            self.error(n, "instruction_title", _("批示件标题不能超过 200 个字。"))
        issued_on, message = parse_date(row.cells.get("issued_on"))
        if message:
            self.error(n, "issued_on", message)
        if issued_on and issued_on > self.today:
            self.error(n, "issued_on", _("批示日期不能晚于今天。"))

        lead_text = cells.get("lead_unit", "")
        lead = None
        if not lead_text:
            self.error(n, "lead_unit", _("牵头单位不能为空。"))
        else:
            lead, message = directory.unit(lead_text)
            if message:
                self.error(n, "lead_unit", message)
        supporting_ids: list[int] = []
        for name in filter(
            None, (p.strip() for p in re.split(f"[{re.escape(LIST_SEPARATORS)}]", cells.get("supporting_units", "")))
        ):
            unit, message = directory.unit(name)
            if message:
                self.error(n, "supporting_units", message)
            elif lead and unit["pk"] == lead["pk"]:
                self.error(n, "supporting_units", _("配合单位“%(name)s”与牵头单位相同。") % {"name": name})
            elif unit["pk"] in supporting_ids:
                self.error(n, "supporting_units", _("配合单位“%(name)s”重复。") % {"name": name})
            else:
                supporting_ids.append(unit["pk"])

        owner_id = None
        owner_text = cells.get("owner", "")
        if owner_text and lead:
            people = directory.members.get((lead["pk"], person_name(owner_text)), [])
            people = list({p["pk"]: p for p in people}.values())
            if not people:
                self.error(
                    n, "owner", _("在牵头单位“%(unit)s”中找不到责任人“%(name)s”。") % {"unit": lead["name"], "name": owner_text}
                )
            elif len(people) > 1:
                self.error(
                    n,
                    "owner",
                    _("牵头单位“%(unit)s”中有 %(count)s 人名为“%(name)s”，请填写用户名以区分。")
                    % {"unit": lead["name"], "count": len(people), "name": owner_text},
                )
            elif not people[0]["is_active"]:
                self.error(n, "owner", _("责任人“%(name)s”的账号已停用。") % {"name": owner_text})
            else:
                owner_id = people[0]["pk"]
                self.owners[owner_id] = people[0]

        deadline, deadline_error = parse_date(row.cells.get("deadline"))
        if deadline_error:
            self.error(n, "deadline", deadline_error)
        urgency, message = parse_label(cells.get("urgency"), URGENCY_LABELS, _("紧急程度"))
        if message:
            self.error(n, "urgency", message)
        classification, message = parse_label(cells.get("classification"), CLASSIFICATION_LABELS, _("密级"))
        if message:
            self.error(n, "classification", message)
        elif classification is not None and classification > self.actor.clearance:
            self.error(
                n,
                "classification",
                _("密级“%(level)s”高于您的密级权限（%(mine)s），不能导入。")
                % {"level": Classification(classification).label, "mine": Classification(self.actor.clearance).label},
            )
        category_id = None
        category_text = cells.get("category", "")
        if category_text:
            category_id = directory.categories.get(norm(category_text))
            if category_id is None:
                choices = "、".join(directory.categories) or _("（系统中尚无类别）")
                self.error(n, "category", _("未知的类别“%(v)s”，可填：%(choices)s。") % {"v": category_text, "choices": choices})
        status, message = parse_label(cells.get("status"), STATUS_LABELS, _("状态"))
        if message:
            self.error(n, "status", message)
        status = status or ItemStatus.DRAFT
        progress_text = cells.get("progress", "")
        label = ItemStatus(status).label
        if status == ItemStatus.PENDING_REVIEW:
            self.error(
                n,
                "status",
                _("“待审核”须有责任单位的办结申请和佐证材料，不能由台账导入；请按“办理中”导入，再由责任单位在系统中申请办结。"),
            )
        nature, message = parse_label(cells.get("nature"), NATURE_LABELS, _("批示性质"))
        if message:
            self.error(n, "nature", message)
        nature = nature or InstructionNature.ACTIONABLE
        if status in NEEDS_ASSIGNMENT_DATA:
            if not owner_text:
                self.error(n, "owner", _("状态为“%(s)s”的事项须填写责任人。") % {"s": label})
            # 参阅性: no deadline-bound item is required (DOMAIN.md rule 2).
            if deadline is None and not deadline_error and nature != InstructionNature.REFERENCE:
                self.error(n, "deadline", _("状态为“%(s)s”的事项须填写办理时限。") % {"s": label})
        if progress_text and status not in REPORTED_STATUSES and status != ItemStatus.PENDING_REVIEW:
            self.error(
                n,
                "progress",
                _("状态为“%(s)s”的事项还不能有进展情况（责任单位反馈进展后即为“办理中”）；请核对状态。") % {"s": label},
            )
        if issued_on and deadline and deadline < issued_on:
            self.error(n, "deadline", _("办理时限不能早于批示日期（%(d)s）。") % {"d": issued_on})
        closed_on, message = parse_date(row.cells.get("closed_on"))
        if message:
            self.error(n, "closed_on", message)
        elif closed_on is not None:
            if status not in DONE:
                self.error(n, "closed_on", _("只有已销号或回访通过的事项才有办结日期（本行状态为“%(s)s”）。") % {"s": label})
            elif closed_on > self.today:
                self.error(n, "closed_on", _("办结日期不能晚于今天。"))
            elif issued_on and closed_on < issued_on:
                self.error(n, "closed_on", _("办结日期不能早于批示日期（%(d)s）。") % {"d": issued_on})

        if len(self.errors) > errors_before:
            return

        # Duplicates: within the file, then against the ledger (already imported).
        key = (title, lead["pk"], document_number)
        if key in seen_keys:
            self.error(
                n,
                "title",
                _("与第 %(row)s 行重复（事项名称、牵头单位、文号均相同）。") % {"row": seen_keys[key]},
            )
            return
        seen_keys[key] = n
        if key in existing_keys:
            self.skipped.append(
                {"row": n, "code": code, "reason": _("台账中已有相同事项名称、牵头单位和文号的事项，视为已导入，跳过。")}
            )
            return

        group = self._group(
            n, cells, document_number, instruction_title, source, issued_on, instructions_by_doc, directory, nature=nature
        )
        planned_instruction = self.instructions[group]
        instruction = planned_instruction.instruction
        if planned_instruction.existing:
            if classification is not None and classification < instruction.classification:
                self.error(
                    n,
                    "classification",
                    _("事项密级不能低于所属批示件（文号 %(doc)s）的密级（%(level)s）。")
                    % {"doc": document_number, "level": instruction.get_classification_display()},
                )
                return
            if deadline and deadline < instruction.issued_on:
                self.error(n, "deadline", _("办理时限不能早于批示件的批示日期（%(d)s）。") % {"d": instruction.issued_on})
                return

        item = Item(
            code="",
            title=title,
            category_id=category_id,
            lead_unit_id=lead["pk"],
            owner_id=owner_id,
            deadline=deadline,
            urgency=urgency or Urgency.NORMAL,
            classification=classification,  # None: the instruction's, once the group is complete
            status=status,
            created_by=self.actor,
            created_at=self.now,
        )
        if status != ItemStatus.DRAFT:
            item.assigned_at = self.now
            item.original_deadline = deadline
        if status in DONE:
            # Closed late in the afternoon of the day the ledger says; the import time if it does not say.
            item.closed_at = (
                timezone.make_aware(datetime.datetime.combine(closed_on, datetime.time(17, 0))) if closed_on else self.now
            )
            item.progress = 100
            if closed_on:
                # Assigned no later than it was closed: on the 批示日期 if the ledger gives one.
                assigned_on = issued_on if issued_on and issued_on <= closed_on else closed_on
                item.assigned_at = timezone.make_aware(datetime.datetime.combine(assigned_on, datetime.time(9, 0)))
        if status == ItemStatus.SUSPENDED:
            item.status_before_suspension = ItemStatus.IN_PROGRESS if progress_text else ItemStatus.ACKNOWLEDGED
        planned_instruction.rows.append(n)
        self.planned.append(Planned(n, group, item, supporting_ids, progress_text, code, lead["name"]))

    def _group(
        self, n, cells, document_number, instruction_title, source, issued_on, instructions_by_doc, directory, *, nature
    ) -> tuple:
        if document_number:
            key = ("doc", document_number, source)
        elif instruction_title:
            key = ("title", instruction_title, source)
        else:
            key = ("row", n)
        planned = self.instructions.get(key)
        if planned is None:
            existing = instructions_by_doc.get(document_number) if document_number else None
            if existing is not None:
                planned = PlannedInstruction(key, existing, existing=True, first_row=n)
            else:
                kind, leader_id, issuer_name = self._source(source, directory)
                title = instruction_title or (f"{document_number} {cells.get('title', '')}".strip())[:200]
                planned = PlannedInstruction(
                    key,
                    Instruction(
                        title=title,
                        kind=kind,
                        nature=nature,
                        issuing_leader_id=leader_id,
                        issuer_name=issuer_name,
                        document_number=document_number,
                        issued_on=issued_on,
                        text=title,
                        created_by=self.actor,
                        created_at=self.now,
                    ),
                    existing=False,
                    first_row=n,
                    issued_given=issued_on is not None,
                )
            self.instructions[key] = planned
        elif not planned.existing and issued_on:
            if planned.issued_given and planned.instruction.issued_on != issued_on:
                self.error(
                    n,
                    "issued_on",
                    _("同一批示件（第 %(row)s 行起）的批示日期不一致：%(a)s 与 %(b)s。")
                    % {"row": planned.first_row, "a": planned.instruction.issued_on, "b": issued_on},
                )
            elif not planned.issued_given:
                planned.instruction.issued_on, planned.issued_given = issued_on, True
        return key

    def _source(self, source: str, directory: Directory) -> tuple[str, int | None, str]:
        """来源/批示领导 → (kind, issuing leader id, external issuer name)."""
        parts = [p for p in re.split(r"[/／、，,（）()\s：:]+", source) if p]
        kind, rest = None, source
        for label, value in KIND_LABELS.items():
            # "上级交办/市委书记" (as the export writes it): the name is what follows the kind.
            match = re.match(rf"^{re.escape(label)}\s*(?:[/／：:]\s*(.*))?$", source)
            if match:
                kind, rest = value, (match.group(1) or "").strip() or source
                break
        if kind is None:
            kind = next((KIND_LABELS[p] for p in parts if p in KIND_LABELS), None)
        if kind is None:
            kind = next((k for k, words in KIND_KEYWORDS if any(w in source for w in words)), InstructionKind.LEADER_INSTRUCTION)
        leader_id = None
        for part in parts:
            # "县委书记张建国" ends with the leader's name; only an unambiguous match counts.
            hits = {
                pk
                for name, pks in directory.leaders.items()
                if part == name or part.endswith(name) and len(name) >= 2
                for pk in pks
            }
            if len(hits) == 1:
                leader_id = hits.pop()
                break
        issuer = "" if leader_id else rest[:100]
        return kind, leader_id, issuer

    def _check_groups(self) -> None:
        """Per new instruction: its date and classification, once all its rows are known."""
        by_group: dict[tuple, list[Planned]] = defaultdict(list)
        for planned in self.planned:
            by_group[planned.group].append(planned)
        for key, items in by_group.items():
            planned_instruction = self.instructions[key]
            instruction = planned_instruction.instruction
            if planned_instruction.existing:
                for p in items:
                    if p.item.classification is None:
                        p.item.classification = instruction.classification
                self._check_owner_clearance(items)
                continue
            given = [p.item.classification for p in items if p.item.classification is not None]
            instruction.classification = min(given) if len(given) == len(items) else Classification.PUBLIC
            for p in items:
                if p.item.classification is None:
                    p.item.classification = instruction.classification
            self._check_owner_clearance(items)
            if instruction.issued_on is None:
                deadlines = [p.item.deadline for p in items if p.item.deadline]
                instruction.issued_on = min([self.today, *deadlines])
            else:
                # A row without its own 批示日期 still may not be due before the instruction was issued.
                for p in items:
                    if p.item.deadline and p.item.deadline < instruction.issued_on:
                        self.error(p.row, "deadline", _("办理时限不能早于批示日期（%(d)s）。") % {"d": instruction.issued_on})

    def _check_owner_clearance(self, items: list[Planned]) -> None:
        """The owner must be cleared for the item's classification (known only once its group is),
        as at assignment in the services (guards.py): an import is no way round it."""
        for p in items:
            owner = self.owners.get(p.item.owner_id)
            if owner is not None and owner["clearance"] < p.item.classification:
                self.error(
                    p.row,
                    "owner",
                    _("责任人“%(name)s”的密级权限为“%(clearance)s”，不能承办“%(level)s”事项，请更换责任人或调整其密级权限。")
                    % {
                        "name": owner["full_name"] or owner["username"],
                        "clearance": Classification(owner["clearance"]).label,
                        "level": Classification(p.item.classification).label,
                    },
                )

    def _schedule(self, item: Item, table: dict, policy_cache: dict, reported: bool, memo: dict) -> None:
        """The yellow-light date and the first reminder time, by the services' own functions.

        Both depend only on the fields in the memo keys (all items start today), and ledgers share
        a few deadlines among many rows (end of a month, a quarter), so each is computed once per key."""

        if item.status == ItemStatus.DRAFT:
            return
        key = ("warning", item.deadline, item.urgency)
        if key not in memo:
            memo[key] = warning_date_for(start=self.today, deadline=item.deadline, urgency=item.urgency, table=table)
        item.warning_date = memo[key]
        if item.status not in OPEN_STATUSES:
            return
        signed = item.status in SIGNED_STATUSES
        key = (
            "reminder",
            item.deadline,
            item.deadline_time,
            item.urgency,
            item.category_id,
            item.reporting_cycle,
            signed,
            reported,
        )
        if key not in memo:
            # Only the lead's signature matters for the acknowledgement reminder's timing: all units
            # share the item's state, so one stand-in assignment gives the same schedule.
            stand_in = [
                ItemAssignment(unit_id=item.lead_unit_id, role=AssignmentRole.LEAD, acknowledged_at=self.now if signed else None)
            ]
            plan = schedule(
                item, policy=policy_for(item, policy_cache), assignments=stand_in, last_report_at=self.now if reported else None
            )
            # As `reminders.next_reminder_at` for an item with no reminder sent yet (it is new): look
            # at it now if a step is already due, else at the next step.
            due_now = any(r.fire_at <= self.now for r in plan)
            memo[key] = self.now if due_now else min((r.fire_at for r in plan), default=None)
        item.next_reminder_at = memo[key]
