"""Tests: real PostgreSQL and real Redis (DATABASE_URL / REDIS_URL, standard local ports by default)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/duban")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_db_of_worker(url: str, worker: str) -> str:
    """The Redis database of one pytest-xdist worker: gw0 keeps the given one, gw1 the next one down,
    and so on, passing over the real-worker tests' broker database (DUBAN_TEST_WORKER_BROKER, whose
    queues are unique per test and shared). Tests clear the cache and the Celery tests consume from the
    broker, so two workers sharing one database would empty each other's cache and run each other's
    tasks against the wrong test database."""
    from urllib.parse import urlsplit, urlunsplit

    def db_of(u: str) -> int:
        return int(urlsplit(u).path.strip("/") or 0)

    broker = db_of(os.environ.get("DUBAN_TEST_WORKER_BROKER", "redis://127.0.0.1:6379/14"))
    parts = urlsplit(url)
    free = [d % 16 for d in range(db_of(url), db_of(url) - 16, -1) if d % 16 != broker]
    return urlunsplit(parts._replace(path=f"/{free[int(worker.removeprefix('gw') or 0) % len(free)]}"))


# Applied once per worker process: the worker's subprocesses (tests/tasks/test_exactly_once.py's
# Celery workers) inherit the environment with the worker's database already chosen.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("DUBAN_TEST_WORKER_REDIS") != _WORKER:
    os.environ["REDIS_URL"] = _redis_db_of_worker(os.environ["REDIS_URL"], _WORKER)
    os.environ["DUBAN_TEST_WORKER_REDIS"] = _WORKER

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import BASE_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media" / (_WORKER or "main")
# Figures computed afresh in every test (tests/supervision/test_stats_cache.py turns the cache on).
DUBAN_STATS_CACHE_SECONDS = 0
DUBAN_STATS_MAX_LAG_SECONDS = 0
# No audit anchors unless a test names its own file (tests/supervision/test_audit_anchor.py): the test
# databases are created afresh, so anchors of an earlier run would belong to another chain.
DUBAN_AUDIT_ANCHOR_FILE = ""
# Quiet hours off unless a test turns them on (tests/tasks/test_timing.py): a test run at night
# or on a rest day must not see its messages held.
DUBAN_QUIET_HOURS = False
