"""Every write to the ledger, one module per capability; re-exported here so callers write
`from supervision import services` and `services.item_assign(...)`.

Each service checks who may act (guards.py), locks what it changes, refuses a transition the state
forbids (409), records an audit event and runs in one transaction. Names follow
`<entity>_<action>`; arguments are keyword-only. Views, pages, the admin and tasks call these and
nothing else to change ledger state."""

from supervision.services.activities import ActivityClash, activity_clashes, activity_create, activity_update
from supervision.services.attachments import attachment_upload, link_attachments
from supervision.services.burden import burden_alerts_send
from supervision.services.calendar import (
    CalendarYearResult,
    calendar_day_delete,
    calendar_day_save,
    calendar_next_year_remind,
    calendar_year_seed_from_package,
    calendar_year_set,
    chinese_calendar_year,
)
from supervision.services.clients import (
    IssuedKey,
    integration_client_create,
    integration_client_rotate_key,
    integration_client_update,
)
from supervision.services.comments import comment_create, comment_mark_read
from supervision.services.duplicates import (
    Candidate,
    PossibleDuplicate,
    candidates_for_item,
    duplicate_candidates,
    duplicate_check,
    suspicion_decide,
    suspicions_raise,
)
from supervision.services.explanations import (
    accountability_departments,
    explanation_workdays,
    overdue_explanation_rule,
    overdue_explanation_submit,
    overdue_explanations_open,
)
from supervision.services.exports import export_approval_grant, export_approval_max_days, export_approval_revoke
from supervision.services.follow_up import (
    referral_acknowledge,
    referral_create,
    referral_outcome_record,
    return_visit_create,
)
from supervision.services.guards import (
    actor_assignment,
    bump,
    check_classification,
    check_version,
    lock_item,
    require_lead_unit_user,
    require_office,
    require_text,
    status_conflict,
)
from supervision.services.instructions import INSTRUCTION_FIELDS, instruction_create, instruction_update
from supervision.services.items import (
    FIXED_AFTER_ASSIGNMENT,
    ITEM_FIELDS,
    assignment_set_report_access,
    item_acknowledge,
    item_assign,
    item_create,
    item_register,
    item_update,
    reschedule,
)
from supervision.services.links import active_link, item_link, item_unlink, linked_follow, refuse_if_linked
from supervision.services.notices import NOTICE_FIELDS, EntrySpec, notice_create, notice_issue, notice_update
from supervision.services.registration import instruction_decompose, instruction_register
from supervision.services.reports import progress_report_create
from supervision.services.requests import item_request_create, item_request_decide, item_request_withdraw, item_resume
from supervision.services.rules import (
    figure_rules_save,
    reminder_policy_changed,
    warning_dates_refresh_later,
    warning_threshold_save,
)
from supervision.services.sheets import assignment_sheet_issue
from supervision.services.signatures import signatures_refresh
from supervision.services.signoff import (
    item_approval_return,
    item_approve,
    item_request_endorse,
    item_request_return,
    office_settings_saved,
    overdue_explanation_endorse,
    overdue_explanation_return,
    unit_approver_changed,
)

__all__ = [
    "ActivityClash",
    "activity_clashes",
    "activity_create",
    "activity_update",
    "burden_alerts_send",
    "active_link",
    "item_link",
    "item_unlink",
    "linked_follow",
    "refuse_if_linked",
    "Candidate",
    "PossibleDuplicate",
    "candidates_for_item",
    "duplicate_candidates",
    "duplicate_check",
    "item_register",
    "signatures_refresh",
    "suspicion_decide",
    "suspicions_raise",
    "IssuedKey",
    "integration_client_create",
    "integration_client_rotate_key",
    "integration_client_update",
    "CalendarYearResult",
    "EntrySpec",
    "FIXED_AFTER_ASSIGNMENT",
    "INSTRUCTION_FIELDS",
    "ITEM_FIELDS",
    "NOTICE_FIELDS",
    "accountability_departments",
    "actor_assignment",
    "assignment_set_report_access",
    "assignment_sheet_issue",
    "attachment_upload",
    "bump",
    "calendar_day_delete",
    "comment_create",
    "comment_mark_read",
    "calendar_day_save",
    "calendar_next_year_remind",
    "calendar_year_seed_from_package",
    "calendar_year_set",
    "check_classification",
    "check_version",
    "chinese_calendar_year",
    "explanation_workdays",
    "export_approval_grant",
    "export_approval_max_days",
    "export_approval_revoke",
    "instruction_create",
    "instruction_decompose",
    "instruction_register",
    "instruction_update",
    "item_acknowledge",
    "item_approval_return",
    "item_approve",
    "item_assign",
    "item_create",
    "item_request_create",
    "item_request_decide",
    "item_request_endorse",
    "item_request_return",
    "item_request_withdraw",
    "item_resume",
    "item_update",
    "link_attachments",
    "lock_item",
    "notice_create",
    "notice_issue",
    "notice_update",
    "office_settings_saved",
    "overdue_explanation_endorse",
    "overdue_explanation_return",
    "overdue_explanation_rule",
    "overdue_explanation_submit",
    "overdue_explanations_open",
    "progress_report_create",
    "referral_acknowledge",
    "referral_create",
    "referral_outcome_record",
    "reminder_policy_changed",
    "require_lead_unit_user",
    "require_office",
    "require_text",
    "reschedule",
    "return_visit_create",
    "status_conflict",
    "unit_approver_changed",
    "warning_dates_refresh_later",
    "warning_threshold_save",
    "figure_rules_save",
]
