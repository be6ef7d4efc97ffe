"""`ledger_export`, the service the API calls: it checks the parameters, counts, writes, records
the export in the audit chain (who, filters, format, rows, omitted, approval used) and returns the
body."""

from __future__ import annotations

import datetime
import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, require_signed_in
from supervision.exchange.export.rows import CONTENT_TYPES, FORMATS, TITLE, XLSX, ExportScope, export_scope
from supervision.exchange.export.writers import csv_stream, write_xlsx


@dataclass
class LedgerExport:
    """A finished export: the body to send and what it holds."""

    file_format: str
    content_type: str
    filename: str  # Chinese, for Content-Disposition's filename*
    ascii_filename: str
    rows: int
    omitted: int
    approval_id: int | None
    body: IO[bytes] | Iterator[bytes]  # xlsx: a temporary file at position 0; csv: a generator
    audit_seq: int | None = None


def export_filenames(scope: ExportScope, file_format: str) -> tuple[str, str]:
    """(督查台账_<time>.<format>, its ASCII stand-in) for Content-Disposition and storage."""
    stamp = timezone.localtime(scope.now).strftime("%Y%m%d-%H%M")
    return f"{TITLE}_{stamp}.{file_format}", f"duban-ledger-{stamp}.{file_format}"


def file_sha256(out: IO[bytes]) -> str:
    """The SHA-256 of a file just written, read from the start; left at the start for sending."""
    out.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: out.read(1 << 20), b""):
        digest.update(block)
    out.seek(0)
    return digest.hexdigest()


def check_format(file_format: str | None) -> str:
    file_format = (file_format or XLSX).strip().lower()
    if file_format not in FORMATS:
        raise InvalidInput(fields={"format": [_("导出格式只能是 xlsx 或 csv。")]})
    return file_format


@transaction.atomic
def record_export(scope: ExportScope, *, file_format: str, filename: str, rows: int, sha256: str | None) -> int:
    approval_used = scope.rights.approval_id if scope.classified_rows else None
    event = audit_record(
        actor=scope.user,
        action="ledger_exported",
        obj=scope.user,
        data={
            "format": file_format,
            "filters": scope.filters,
            "filename": filename,
            "rows": rows,
            "omitted_classified": scope.omitted,
            "classified_rows": scope.classified_rows,
            "exportable_classification": scope.rights.level,
            # The approval is named when it let classified rows out, so the trail shows on whose word.
            "approval": approval_used,
            "sha256": sha256,
        },
    )
    return event.seq


def ledger_export(
    *, actor: User, params: Mapping, file_format: str | None = None, now: datetime.datetime | None = None
) -> LedgerExport:
    """Export the items list's view for `params` as .xlsx or CSV and record it in the audit chain.

    .xlsx is written whole to a temporary file first (constant memory), then audited with the
    rows written and the file's SHA-256. CSV is audited before its first byte is sent, with the
    rows counted in the same query as the omitted ones (it is generated while it is sent)."""
    require_signed_in(actor)
    file_format = check_format(file_format)
    scope = export_scope(user=actor, params=params, now=now)
    filename, ascii_filename = export_filenames(scope, file_format)
    if file_format == XLSX:
        out = tempfile.TemporaryFile(prefix="duban-export-", suffix=".xlsx")
        try:
            rows = write_xlsx(scope, out)
            seq = record_export(scope, file_format=file_format, filename=filename, rows=rows, sha256=file_sha256(out))
        except BaseException:
            out.close()
            raise
        body: IO[bytes] | Iterator[bytes] = out
    else:
        rows = scope.rows
        seq = record_export(scope, file_format=file_format, filename=filename, rows=rows, sha256=None)
        body = csv_stream(scope)
    return LedgerExport(
        file_format=file_format,
        content_type=CONTENT_TYPES[file_format],
        filename=filename,
        ascii_filename=ascii_filename,
        rows=rows,
        omitted=scope.omitted,
        approval_id=scope.rights.approval_id if scope.classified_rows else None,
        body=body,
        audit_seq=seq,
    )
