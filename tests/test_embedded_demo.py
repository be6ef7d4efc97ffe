"""The README's first command (`make run`) on its embedded default: SQLite, no servers. The suite runs on
PostgreSQL, so a read that only PostgreSQL understands (an array parameter, say) passes every other
test and still stops `make run` on a fresh clone; this runs the demo's own start-up steps on SQLite
in a fresh folder (DUBAN_VAR_DIR), as scripts/run.sh does, and reads the demo back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(var: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DUBAN_", "DATABASE_", "REDIS_"))}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings.local", DUBAN_VAR_DIR=str(var))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600
    )


def test_the_demo_loads_on_sqlite_as_make_run_does(tmp_path):
    for folder in ("broker/queue", "broker/processed", "broker/control", "media"):
        (tmp_path / folder).mkdir(parents=True)
    migrated = _manage(tmp_path, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    loaded = _manage(tmp_path, "load_demo")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "演示数据载入完成" in loaded.stdout
    with sqlite3.connect(tmp_path / "duban.sqlite3") as db:
        items = db.execute("SELECT count(*) FROM supervision_item").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM supervision_duplicatesuspicion WHERE status = 'pending'").fetchone()[0]
        linked = db.execute("SELECT count(*) FROM supervision_itemlink WHERE unlinked_at IS NULL").fetchone()[0]
    assert items >= 50 and pending >= 1 and linked >= 1  # the 减负 cases the README points to
    verified = _manage(tmp_path, "verify_audit")
    assert verified.returncode == 0 and "审计链完整" in verified.stdout, verified.stdout + verified.stderr
    again = _manage(tmp_path, "load_demo")  # run.sh loads it on every start: the second is a no-op
    assert again.returncode == 0, again.stderr[-3000:]
