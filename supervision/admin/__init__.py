"""The back office (Django admin), one module per capability. Importing the package registers
every model admin; ledger state still changes only through supervision.services.

- people.py: units, people and their roles, integration clients (OA systems)
- ledger.py: categories, instructions, items (read-only)      - audit.py: the audit trail
- rules.py: reminder policies, warning-light thresholds         - calendar.py: the working-day calendar
- signin.py: sign-in lockouts (unlock) and API tokens (revoke)
- exports.py: export approvals and jobs    - imports.py: Excel import jobs    - intake.py: OA intake records
"""

from supervision.admin import audit, calendar, exports, imports, intake, ledger, people, rules, signin
from supervision.admin.base import ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin

__all__ = [
    "ReadOnlyAdminMixin",
    "ServiceErrorsAsMessagesMixin",
    "audit",
    "calendar",
    "exports",
    "imports",
    "intake",
    "ledger",
    "people",
    "rules",
    "signin",
]
