"""Periodic check of the audit chain, and its head kept outside the database."""

import logging

from celery import shared_task

from supervision.audit import audit_verify
from supervision.audit.anchor import audit_anchor

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
        "anchors": report.anchors,
    }


@shared_task(name="tasks.audit.anchor_audit_head")
def anchor_audit_head() -> dict:
    """Append the chain head to the anchor file. Safe to run twice: an unchanged head is not
    written again (the file's own last line is the guard, under a file lock)."""
    anchor = audit_anchor()
    return {"anchored": anchor is not None, "seq": anchor.seq if anchor else None}
