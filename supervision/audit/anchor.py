"""Anchors of the audit chain kept outside the database (issue 11, finding 10).

The HMAC key (audit.py) stops someone who holds only the database from recomputing the hashes
after an edit. It does not stop them cutting the newest events off the end and moving the chain
head back to an earlier link, whose HMAC is still valid. An anchor does: every
DUBAN_AUDIT_ANCHOR_MINUTES a beat task appends the head (seq, hash, count, time and the hash of the
chain's first event) as one JSON line to DUBAN_AUDIT_ANCHOR_FILE, a file on the application host,
and logs the same line (logger `duban.audit.anchor`) so operators can ship it to syslog or WORM
storage. `audit_verify` then checks that every anchored link is still in the chain, unchanged.

The first event's hash ties an anchor to its chain: anchors of another chain (the database was
replaced) are reported, never silently skipped, since replacing the whole chain is exactly what a
database-only attacker without the key would do."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from supervision.models import AuditChainHead, AuditEvent

logger = logging.getLogger("duban.audit.anchor")

TAIL_BYTES = 4096  # an anchor line is about 250 bytes; the last one is within this of the end


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    count: int
    first: str
    at: str
    line: int = 0

    def as_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "count": self.count, "first": self.first, "at": self.at})


def anchor_path() -> Path | None:
    value = getattr(settings, "DUBAN_AUDIT_ANCHOR_FILE", "")
    return Path(value) if value else None


def _parse(text: str, line: int) -> Anchor | None:
    try:
        data = json.loads(text)
        return Anchor(int(data["seq"]), str(data["hash"]), int(data["count"]), str(data["first"]), str(data["at"]), line)
    except (ValueError, KeyError, TypeError):
        return None


def anchors_read(path: Path | None = None) -> tuple[list[Anchor], list[int]]:
    """The anchors in the file, oldest first, and the numbers of lines that are not anchors."""
    path = path or anchor_path()
    if path is None or not path.exists():
        return [], []
    anchors, bad = [], []
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            anchor = _parse(text, number)
            if anchor is None:
                bad.append(number)
            else:
                anchors.append(anchor)
    return anchors, bad


def _last_line(f) -> str:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - TAIL_BYTES))
    lines = [line for line in f.read().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def audit_anchor() -> Anchor | None:
    """Append the chain head to the anchor file unless it is already the last anchor. Returns the
    anchor written, or None (no file configured, an empty chain, or nothing new). Two runs at once
    are serialised by a lock on the file, so the second finds the head already anchored."""
    path = anchor_path()
    head = AuditChainHead.objects.filter(id=1).first()
    if path is None or head is None or head.last_seq == 0:
        return None
    first = AuditEvent.objects.filter(seq=1).values_list("hash", flat=True).first() or ""
    anchor = Anchor(head.last_seq, head.last_hash, head.count, first, timezone.now().isoformat(timespec="seconds"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        last = _parse(_last_line(f), 0)
        if last is not None and (last.seq, last.hash, last.first) == (anchor.seq, anchor.hash, anchor.first):
            return None
        f.seek(0, os.SEEK_END)
        f.write(anchor.as_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    logger.info("audit anchor %s", anchor.as_json())
    return anchor
