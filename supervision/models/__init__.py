"""The ledger domain's models, by capability; everything is re-exported here, so
`from supervision.models import Item` and the migrations' references keep working.

- ledger.py: instructions, items, assignments, reports, requests, return visits, referrals, attachments
- audit.py: the hash-chained audit trail
- rules.py: warning thresholds and reminder policies (edited in the admin)
- accountability.py: overdue explanations, rulings, notices
- calendar.py: the working-day calendar's exceptions
- exchange.py: export approvals and jobs, import jobs, OA intake records
- comments.py: leader comments (批示/点评) and their read markers
- counters.py: the yearly number series (ledger codes, notice numbers)
- signoff.py: who signs for a unit (deputies besides the head), the office's own settings
- history.py: every deadline an item had, and when it was in force (the figures' deadline history)
- dedup.py: matching signatures, duplicate suspicions (疑似重复), linked items (合并督办)
- burden.py: inspection activities (统筹督查), weekly burden limits and alerts (减负)
"""

from supervision.models.accountability import ExplanationAttachment, Notice, NoticeEntry, OverdueExplanation
from supervision.models.audit import AuditChainHead, AuditEvent
from supervision.models.burden import BurdenAlert, BurdenLimit, SupervisionActivity
from supervision.models.calendar import WEEKDAY_NAMES, CalendarDay
from supervision.models.comments import CommentRead, LeaderComment
from supervision.models.counters import AssignmentSheet, YearlyCounter
from supervision.models.dedup import DuplicateSuspicion, ItemLink, ItemSignature, PoolChar
from supervision.models.exchange import (
    ExportApproval,
    ExportJob,
    ImportJob,
    IntakeItem,
    IntakeRecord,
    export_file_path,
    import_file_path,
)
from supervision.models.history import DeadlineSpan
from supervision.models.ledger import (
    Attachment,
    Category,
    Instruction,
    Item,
    ItemAssignment,
    ItemRequest,
    ProgressReport,
    Referral,
    ReturnVisit,
    attachment_path,
)
from supervision.models.rules import FigureRules, ReminderPolicy, ReminderStep, WarningThreshold
from supervision.models.signoff import OfficeSettings, UnitApprover

__all__ = [
    "WEEKDAY_NAMES",
    "AssignmentSheet",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "BurdenAlert",
    "BurdenLimit",
    "DuplicateSuspicion",
    "ItemLink",
    "ItemSignature",
    "PoolChar",
    "SupervisionActivity",
    "CalendarDay",
    "Category",
    "CommentRead",
    "DeadlineSpan",
    "ExplanationAttachment",
    "ExportApproval",
    "ExportJob",
    "FigureRules",
    "ImportJob",
    "Instruction",
    "IntakeItem",
    "IntakeRecord",
    "Item",
    "ItemAssignment",
    "ItemRequest",
    "LeaderComment",
    "Notice",
    "NoticeEntry",
    "OfficeSettings",
    "OverdueExplanation",
    "ProgressReport",
    "Referral",
    "ReminderPolicy",
    "ReminderStep",
    "ReturnVisit",
    "UnitApprover",
    "WarningThreshold",
    "YearlyCounter",
    "attachment_path",
    "export_file_path",
    "import_file_path",
]
