"""Task ledger for a soak run (bench/soak_run.py): one line per task published and per task settled.

Only connected when DUBAN_SOAK_LOG names a folder. Each process appends to its own file (no two writers
share a file), so lines never interleave; the soak run reads them all at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import signals

_folder: Path | None = None


def _write(kind: str, task_id: str | None, name: str | None) -> None:
    if _folder is None or not task_id:
        return
    with open(_folder / f"{kind}-{os.getpid()}.log", "a", encoding="utf-8") as f:
        f.write(f"{task_id} {name}\n")


def _published(sender=None, headers=None, **_):
    headers = headers or {}
    _write("published", headers.get("id"), sender)


def _ran(task_id=None, task=None, **_):
    _write("ran", task_id, getattr(task, "name", None))


def _revoked(request=None, expired=False, **_):
    # A beat job whose `expires` passed while it waited is dropped on purpose: settled, not lost.
    _write("expired" if expired else "revoked", getattr(request, "id", None), getattr(request, "task", None))


def connect(folder: str) -> None:
    global _folder
    _folder = Path(folder)
    _folder.mkdir(parents=True, exist_ok=True)
    signals.before_task_publish.connect(_published, weak=False)
    signals.task_postrun.connect(_ran, weak=False)
    signals.task_revoked.connect(_revoked, weak=False)
