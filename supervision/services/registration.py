"""批示件登记 + 分解立项 in one step, as the office does it on the registration page: the
instruction with its scanned files, its items, and (if asked) their assignment, together or not
at all. Each part goes through its own service (instruction_create, item_register, item_assign), so
the checks and audit events are exactly those of the API's separate calls — the duplicate check
(减负, DOMAIN.md rule 12) included: an item that looks like one already on the ledger, or like an
earlier row of the same registration, is refused with its candidates unless that row is confirmed
another matter (`confirm_not_duplicate` among its fields)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.errors import DomainError, InvalidInput
from supervision.models import Instruction, Item
from supervision.services.attachments import attachment_upload
from supervision.services.duplicates import PossibleDuplicate
from supervision.services.guards import require_office
from supervision.services.instructions import instruction_create
from supervision.services.items import item_assign, item_register


def _for_item(exc: DomainError, index: int) -> DomainError:
    """The same refusal, with its fields named after the item's row ("items-0-owner"), so a
    page can show each message next to the field of the right item."""
    fields = {f"items-{index}-{name}": messages for name, messages in exc.fields.items()}
    message = _("第 %(n)s 个事项：%(message)s") % {"n": index + 1, "message": exc.message}
    return type(exc)(message, code=exc.code, fields=fields, extra={**exc.extra, "item_index": index})


def _duplicate_for_item(exc: PossibleDuplicate, index: int, earlier: Sequence[Item]) -> PossibleDuplicate:
    """item_register's refusal for one row: the same candidates, named after the row. A candidate
    that is an earlier row of this registration is named by its row ("row": n), not by a code and
    id: it is rolled back with the rest, so there is no page to show."""
    rows = {item.pk: n for n, item in enumerate(earlier, start=1)}
    candidates = []
    for candidate in exc.extra.get("candidates", []):
        row = rows.get(candidate["id"])
        candidates.append({**candidate, "id": None, "code": "", "row": row} if row else {**candidate, "row": None})
    best = candidates[0]
    if best["row"]:
        where = _("本次登记的第 %(row)s 个事项“%(title)s”") % best
    else:
        where = _("台账中已有的“%(code)s %(title)s”") % best
    message = _(
        "第 %(n)s 个事项疑似与%(where)s是同一事项（%(reason)s）。"
        "确认不是同一事项的，请在该事项下勾选“确认不是同一事项，仍然登记”后再提交。"
    ) % {"n": index + 1, "where": where, "reason": best["reason"]}
    return PossibleDuplicate(message, code=exc.code, extra={"item_index": index, "candidates": candidates})


@transaction.atomic
def instruction_register(
    *,
    actor: User,
    instruction: Mapping,
    items: Sequence[Mapping] = (),
    uploaded_files: Sequence = (),
    assign: bool = False,
) -> Instruction:
    """Register an instruction (fields of instruction_create), upload its files, register its
    items (keyword arguments of item_register each, see instruction_decompose) and, with `assign`,
    assign every item (交办). Any refusal rolls everything back; an item's refusal names the item."""
    require_office(actor)
    if assign and not items:
        raise InvalidInput(_("立即交办须至少分解一个事项。"), fields={"items": [_("请至少添加一个督办事项。")]})
    attachment_ids = []
    for uploaded in uploaded_files:
        try:
            attachment_ids.append(attachment_upload(actor=actor, uploaded_file=uploaded).pk)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, code=exc.code, fields={"attachments": exc.fields.get("file", [])}) from exc
    registered = instruction_create(actor=actor, attachment_ids=attachment_ids, **instruction)
    if items:
        instruction_decompose(actor=actor, instruction=registered, items=items, assign=assign)
    return registered


@transaction.atomic
def instruction_decompose(*, actor: User, instruction: Instruction, items: Sequence[Mapping], assign: bool = False) -> list[Item]:
    """分解立项 under an instruction already registered: its new items (keyword arguments of
    item_register each: those of item_create, and `confirm_not_duplicate`), assigned at once with
    `assign`. All or nothing; a refusal names the item (`extra["item_index"]`), a possible
    duplicate with its candidates (`extra["candidates"]`)."""
    require_office(actor)
    if not items:
        raise InvalidInput(_("请至少添加一个督办事项。"), fields={"items": [_("请至少添加一个督办事项。")]})
    created = []
    for index, fields in enumerate(items):
        try:
            item = item_register(actor=actor, instruction=instruction, **fields)
            if assign:
                item = item_assign(actor=actor, item=item)
        except PossibleDuplicate as exc:
            raise _duplicate_for_item(exc, index, created) from exc
        except DomainError as exc:
            raise _for_item(exc, index) from exc
        created.append(item)
    return created
