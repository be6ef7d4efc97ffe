"""Tests: real PostgreSQL and real Redis (DATABASE_URL / REDIS_URL, standard local ports by default)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/duban")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import BASE_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
# Figures computed afresh in every test (tests/supervision/test_stats_cache.py turns the cache on).
DUBAN_STATS_CACHE_SECONDS = 0
DUBAN_STATS_MAX_LAG_SECONDS = 0
# No audit anchors unless a test names its own file (tests/supervision/test_audit_anchor.py): the test
# databases are created afresh, so anchors of an earlier run would belong to another chain.
DUBAN_AUDIT_ANCHOR_FILE = ""
# Quiet hours off unless a test turns them on (tests/tasks/test_timing.py): a test run at night
# or on a rest day must not see its messages held.
DUBAN_QUIET_HOURS = False
