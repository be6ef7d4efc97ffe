"""Periodic check of the audit chain."""

import logging

from celery import shared_task

from supervision.audit import audit_verify

logger = logging.getLogger(__name__)


@shared_task(name="tasks.audit.verify_audit_chain")
def verify_audit_chain() -> dict:
    """Read-only and safe to run twice; a broken chain is logged as an error for the operators."""
    report = audit_verify()
    if report.ok:
        logger.info("audit chain intact: %s events", report.checked)
    else:
        logger.error("audit chain broken at seq %s: %s", report.broken_seq, report.problem)
    return {
        "ok": report.ok,
        "checked": report.checked,
        "broken_seq": report.broken_seq,
        "keyed": report.keyed,
        "unkeyed_prefix": report.unkeyed_prefix,
    }
