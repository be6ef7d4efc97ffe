#!/usr/bin/env bash
# make test: the test suite against real PostgreSQL and real Redis (STYLE.md habit 5).
# DATABASE_URL / REDIS_URL choose the servers; the defaults are the standard local ports
# (postgres://postgres@127.0.0.1:5432/duban, redis://127.0.0.1:6379/15). If a local server is
# not running and this machine has it installed, it is started. Extra arguments go to pytest.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_node.sh"
cd "$ROOT"
ensure_venv
ensure_node_modules

# The browser test (tests/e2e/) drives Debian's chromium through Playwright; Playwright's own
# browser downloads are never used. Install it when we can; never skip the browser test.
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing Debian's chromium (and CJK fonts for the screenshots) for tests/e2e/"
        apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null || true
    fi
    if [ ! -x "$CHROMIUM" ]; then
        echo "make test: $CHROMIUM is missing; the browser test needs it. Install it with 'apt-get install -y chromium' (as root)." >&2
        exit 2
    fi
fi

export DJANGO_SETTINGS_MODULE=config.settings.test
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/duban}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
export PYTHONUNBUFFERED=1

# Exit 0 when the server answers. PostgreSQL is probed through the maintenance database
# "postgres", since pytest-django creates the test database itself.
postgres_up() {
    "$PY" - <<'PYEOF' 2>/dev/null
import os, sys
import environ, psycopg
cfg = environ.Env.db_url_config(os.environ["DATABASE_URL"])
try:
    psycopg.connect(host=cfg.get("HOST") or None, port=cfg.get("PORT") or None, user=cfg.get("USER") or None,
                    password=cfg.get("PASSWORD") or None, dbname="postgres", connect_timeout=2).close()
except Exception as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
PYEOF
}
redis_up() {
    "$PY" - <<'PYEOF' 2>/dev/null
import os, sys
import redis
try:
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=2).ping()
except Exception as exc:
    print(exc, file=sys.stderr)
    sys.exit(1)
PYEOF
}

wait_for() {  # wait_for CHECK: up to ~20 s
    local until=$((SECONDS + 20))
    while [ "$SECONDS" -lt "$until" ]; do
        "$1" && return 0
        sleep 1
    done
    "$1"
}

is_local() {  # is_local URL: only a server on this machine is ours to start
    case "$1" in
        *@127.0.0.1[:/]* | *@localhost[:/]* | *://127.0.0.1[:/]* | *://localhost[:/]* | *@127.0.0.1 | *@localhost) return 0 ;;
        *) return 1 ;;
    esac
}

if ! postgres_up; then
    if is_local "$DATABASE_URL" && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
        version="$(ls /etc/postgresql | sort -V | tail -1)"
        echo "==> PostgreSQL not reachable at $DATABASE_URL; starting cluster $version/main"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    if ! wait_for postgres_up; then
        cat >&2 <<MSG
make test: PostgreSQL is not reachable at $DATABASE_URL.
  Start it (e.g. 'pg_ctlcluster <version> main start' or 'docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15'),
  or set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/duban to a server you can use.
MSG
        exit 2
    fi
fi

if ! redis_up; then
    if is_local "$REDIS_URL" && command -v redis-server >/dev/null 2>&1; then
        echo "==> Redis not reachable at $REDIS_URL; starting redis-server on 127.0.0.1:6379"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
    fi
    if ! wait_for redis_up; then
        cat >&2 <<MSG
make test: Redis is not reachable at $REDIS_URL.
  Start it (e.g. 'redis-server --daemonize yes' or 'docker run -p 6379:6379 redis:7'),
  or set REDIS_URL=redis://HOST:PORT/15 to a server you can use.
MSG
        exit 2
    fi
fi

echo "==> PostgreSQL: $DATABASE_URL   Redis: $REDIS_URL"
# On every core (pytest-xdist): each worker has its own test database (pytest-django's _gw0, _gw1 …)
# and its own Redis database (config/settings/test.py). A file's tests stay on one worker, so the
# data a module builds once is built once. DUBAN_TEST_WORKERS=0 runs in this one process.
exec "$PY" -m pytest -n "${DUBAN_TEST_WORKERS:-auto}" --dist loadfile "$@"
