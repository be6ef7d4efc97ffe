"""The ledger domain's models, by capability; everything is re-exported here, so
`from supervision.models import Item` and the migrations' references keep working.

- ledger.py: instructions, items, assignments, reports, requests, return visits, referrals, attachments
- audit.py: the hash-chained audit trail
- rules.py: warning thresholds and reminder policies (edited in the admin)
- accountability.py: overdue explanations, rulings, notices
- calendar.py: the working-day calendar's exceptions
- exchange.py: export approvals and jobs, import jobs, OA intake records
- counters.py: the yearly number series (ledger codes, notice numbers)
"""

from supervision.models.accountability import ExplanationAttachment, Notice, NoticeEntry, OverdueExplanation
from supervision.models.audit import AuditChainHead, AuditEvent
from supervision.models.calendar import WEEKDAY_NAMES, CalendarDay
from supervision.models.counters import YearlyCounter
from supervision.models.exchange import (
    ExportApproval,
    ExportJob,
    ImportJob,
    IntakeItem,
    IntakeRecord,
    export_file_path,
    import_file_path,
)
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
from supervision.models.rules import ReminderPolicy, ReminderStep, WarningThreshold

__all__ = [
    "WEEKDAY_NAMES",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "CalendarDay",
    "Category",
    "ExplanationAttachment",
    "ExportApproval",
    "ExportJob",
    "ImportJob",
    "Instruction",
    "IntakeItem",
    "IntakeRecord",
    "Item",
    "ItemAssignment",
    "ItemRequest",
    "Notice",
    "NoticeEntry",
    "OverdueExplanation",
    "ProgressReport",
    "Referral",
    "ReminderPolicy",
    "ReminderStep",
    "ReturnVisit",
    "WarningThreshold",
    "YearlyCounter",
    "attachment_path",
    "export_file_path",
    "import_file_path",
]
