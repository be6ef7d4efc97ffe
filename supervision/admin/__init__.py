"""The back office (Django admin), one module per capability. Importing the package registers
every model admin; ledger state still changes only through supervision.services.

- people.py: units, people and their roles, integration clients (OA systems)
- ledger.py: categories, instructions, items (read-only)      - audit.py: the audit trail
- rules.py: reminder policies, warning-light thresholds         - calendar.py: the working-day calendar
- comments.py: leader comments (read-only)
- signin.py: sign-in lockouts (unlock) and API tokens (revoke)
- signoff.py: who signs for a unit (单位签字人), the office's settings (督查室主任审批)
- burden.py: 统筹督查 activities, 减负 limits and alerts, 疑似重复 and 合并督办 (read-only)
- exports.py: export approvals and jobs    - imports.py: Excel import jobs    - intake.py: OA intake records
"""

from supervision.admin import (
    audit,
    burden,
    calendar,
    comments,
    exports,
    imports,
    intake,
    ledger,
    people,
    rules,
    signin,
    signoff,
)
from supervision.admin.base import ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin

__all__ = [
    "ReadOnlyAdminMixin",
    "ServiceErrorsAsMessagesMixin",
    "audit",
    "burden",
    "calendar",
    "comments",
    "exports",
    "imports",
    "intake",
    "ledger",
    "people",
    "rules",
    "signin",
    "signoff",
]
