"""What a cell may say: the labels hand-kept ledgers use for urgency, classification, nature, status
and source; dates written every way people write them; and the reference data (units, people,
categories, instructions) read once per import so the query count does not grow with the rows."""

from __future__ import annotations

import datetime
import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from accounts.choices import Classification, Role
from accounts.models import Unit, User
from supervision import workcalendar
from supervision.choices import (
    OPEN_STATUSES,
    InstructionKind,
    InstructionNature,
    ItemStatus,
    Urgency,
)
from supervision.exchange.importer.reading import cell_text
from supervision.models import Category

URGENCY_LABELS = {str(label): value for value, label in Urgency.choices} | {
    "普通": Urgency.NORMAL,
    "紧急": Urgency.URGENT,
    "加急": Urgency.URGENT,
    "特别紧急": Urgency.EXTRA_URGENT,
}


CLASSIFICATION_LABELS = {str(label): value for value, label in Classification.choices} | {
    "非密": Classification.PUBLIC,
    "不涉密": Classification.PUBLIC,
    "无": Classification.PUBLIC,
}


NATURE_LABELS = {str(label): value for value, label in InstructionNature.choices} | {
    "批办": InstructionNature.ACTIONABLE,
    "指导": InstructionNature.DIRECTIVE,
    "参阅": InstructionNature.REFERENCE,
}


STATUS_LABELS = {str(label): value for value, label in ItemStatus.choices} | {
    "未交办": ItemStatus.DRAFT,
    "待交办": ItemStatus.DRAFT,
    "交办": ItemStatus.ASSIGNED,
    "签收": ItemStatus.ACKNOWLEDGED,
    "正在办理": ItemStatus.IN_PROGRESS,
    "推进中": ItemStatus.IN_PROGRESS,
    "序时推进": ItemStatus.IN_PROGRESS,
    "已办结": ItemStatus.CLOSED,
    "办结": ItemStatus.CLOSED,
    "已完成": ItemStatus.CLOSED,
    "完成": ItemStatus.CLOSED,
    "销号": ItemStatus.CLOSED,
    "暂停": ItemStatus.SUSPENDED,
    "撤销": ItemStatus.CANCELLED,
    "已取消": ItemStatus.CANCELLED,
}


KIND_LABELS = {str(label): value for value, label in InstructionKind.choices}


# Read in this order from the 来源 text when it names no kind outright.
KIND_KEYWORDS = (
    (InstructionKind.MEETING_DECISION, ("会议", "常委会", "议定", "专题会")),
    (InstructionKind.DEPUTIES_SUGGESTION, ("人大", "政协", "建议", "提案")),
    (InstructionKind.PUBLIC_REPORT, ("群众", "媒体", "网络", "舆情", "信访", "12345", "热线")),
    (InstructionKind.INSPECTION_FINDING, ("督查", "暗访", "巡查", "检查发现")),
    (InstructionKind.ASSIGNED_FROM_ABOVE, ("上级", "交办", "省委", "市委", "省政府", "市政府")),
)


# States in which a unit has reported, so a 进展情况 cell may stand for a stage report.
REPORTED_STATUSES = (
    ItemStatus.IN_PROGRESS,
    ItemStatus.CLOSED,
    ItemStatus.VERIFIED,
    ItemStatus.SUSPENDED,
    ItemStatus.CANCELLED,
)


# States in which the ledger says the units have signed for the item.
SIGNED_STATUSES = (
    ItemStatus.ACKNOWLEDGED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.CLOSED,
    ItemStatus.VERIFIED,
    ItemStatus.SUSPENDED,
)


DONE = (ItemStatus.CLOSED, ItemStatus.VERIFIED)


# States that need what 交办 needs (owner, deadline for 批办性 items).
NEEDS_ASSIGNMENT_DATA = (*OPEN_STATUSES, ItemStatus.SUSPENDED)


CODE_PATTERN = re.compile(r"^DB-\d{4}-\d{4,}$")


_DATE_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


_DATE_NO_YEAR = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


_BEFORE = re.compile(r"(之前|以前|前|止)$")


def parse_date(value: Any) -> tuple[datetime.date | None, str | None]:
    """Excel dates, 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日, 20261231; "…前" is read as
    the date itself. A date without a year (12月31日前) or words (长期) are errors, not guesses."""
    if value is None or cell_text(value) == "":
        return None, None
    if isinstance(value, datetime.datetime):
        return value.date(), None
    if isinstance(value, datetime.date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A date typed into a cell without date format arrives as Excel's day number.
        if 20000 < value < 80000:
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date(), None
        return None, _("“%(v)s”不是日期，请写成 2026-12-31 或 2026年12月31日。") % {"v": cell_text(value)}
    text = _BEFORE.sub("", cell_text(value).replace(" ", ""))
    match = _DATE_FULL.match(text) or _DATE_COMPACT.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            day = datetime.date(year, month, day)
        except ValueError:
            return None, _("日期“%(v)s”不存在。") % {"v": cell_text(value)}
        if not workcalendar.EARLIEST_DATE <= day <= workcalendar.LATEST_DATE:
            return None, _("日期“%(v)s”须在 1900 年至 2999 年之间。") % {"v": cell_text(value)}
        return day, None
    if _DATE_NO_YEAR.match(text):
        return None, _("日期“%(v)s”缺少年份，请写成 2026-12-31 或 2026年12月31日。") % {"v": cell_text(value)}
    return None, _("无法识别日期“%(v)s”，请写成 2026-12-31 或 2026年12月31日。") % {"v": cell_text(value)}


def parse_label(value: Any, labels: dict, what: str) -> tuple[Any, str | None]:
    text = "".join(cell_text(value).split())
    if not text:
        return None, None
    if text in labels:
        return labels[text], None
    return None, _("未知的%(what)s“%(v)s”，可填：%(choices)s。") % {"what": what, "v": text, "choices": "、".join(labels)}


def norm(text: str) -> str:
    return "".join((text or "").split())


@dataclass
class Directory:
    units_by_name: dict[str, list[dict]]
    unit_names: list[str]
    members: dict[tuple[int, str], list[dict]]  # (unit id, full name or username) → users
    leaders: dict[str, list[int]]  # full name → leader ids
    categories: dict[str, int]

    @classmethod
    def load(cls) -> Directory:
        units_by_name: dict[str, list[dict]] = defaultdict(list)
        for unit in Unit.objects.values("pk", "name", "short_name", "is_active"):
            units_by_name[norm(unit["name"])].append(unit)
            if unit["short_name"] and norm(unit["short_name"]) != norm(unit["name"]):
                units_by_name[norm(unit["short_name"])].append(unit)
        members: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for user in User.objects.filter(unit__isnull=False).values(
            "pk", "unit_id", "full_name", "username", "is_active", "clearance"
        ):
            members[(user["unit_id"], norm(user["full_name"]))].append(user)
            if norm(user["username"]) != norm(user["full_name"]):
                members[(user["unit_id"], norm(user["username"]))].append(user)
        leaders: dict[str, list[int]] = defaultdict(list)
        for pk, name, username in User.objects.filter(role_assignments__role=Role.LEADER, is_active=True).values_list(
            "pk", "full_name", "username"
        ):
            for key in {norm(name), norm(username)} - {""}:
                leaders[key].append(pk)
        categories = {norm(name): pk for pk, name in Category.objects.filter(is_active=True).values_list("pk", "name")}
        return cls(units_by_name, sorted(units_by_name), members, leaders, categories)

    def unit(self, text: str) -> tuple[dict | None, str | None]:
        key = norm(text)
        found = self.units_by_name.get(key, [])
        if len(found) == 1 or (found and all(u["pk"] == found[0]["pk"] for u in found)):
            unit = found[0]
            if not unit["is_active"]:
                return None, _("单位“%(name)s”已停用。") % {"name": text}
            return unit, None
        if found:
            names = "、".join(u["name"] for u in found)
            return None, _("单位简称“%(name)s”对应多个单位（%(names)s），请填写全称。") % {"name": text, "names": names}
        close = difflib.get_close_matches(key, self.unit_names, n=3, cutoff=0.6)
        if close:
            return None, _("单位“%(name)s”不存在，是否为：%(close)s？") % {"name": text, "close": "、".join(close)}
        return None, _("单位“%(name)s”不存在。") % {"name": text}


_PAREN = re.compile(r"[（(][^）)]*[）)]")


_PHONE = re.compile(r"[\s:：]*1\d{10}$|[\s:：]*\d{3,4}-?\d{7,8}$")


def person_name(text: str) -> str:
    """ "张三（局长）13800000000" → "张三": ledgers add titles and phone numbers to the name."""
    return norm(_PHONE.sub("", _PAREN.sub("", text)))
