#!/usr/bin/env bash
# make run: web server + Celery worker + Celery beat, with demo data, on one machine.
# Without DATABASE_URL / REDIS_URL: SQLite (var/duban.sqlite3) and the embedded filesystem broker.
# With them: PostgreSQL and Redis (config/settings/base.py reads both).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_node.sh"
cd "$ROOT"
ensure_venv
ensure_node_modules

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export PYTHONUNBUFFERED=1
HOST="${DUBAN_HOST:-0.0.0.0}"
PORT="${DUBAN_PORT:-8000}"

mkdir -p var/broker/queue var/broker/processed var/broker/control var/media

echo "==> migrate"
"$PY" manage.py migrate --noinput
echo "==> collectstatic"
"$PY" manage.py collectstatic --noinput -v 0
echo "==> load_demo (skipped if already loaded)"
"$PY" manage.py load_demo

# The worker checks the audit chain once at start-up: proves the broker and worker work end to end.
echo "==> queue tasks.audit.verify_audit_chain"
"$PY" -m celery -A config call tasks.audit.verify_audit_chain >/dev/null
# And sweeps reminders at once rather than at beat's first tick: the demo's overdue items owe
# reminders, which reach the inboxes (GET /api/v1/inbox/) within seconds of start-up.
echo "==> queue tasks.reminders.sweep_due_reminders"
"$PY" -m celery -A config call tasks.reminders.sweep_due_reminders >/dev/null

pids=()
stop_all() {
    # Each process runs in its own process group (setsid), so this also stops their children.
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
on_signal() {
    trap - INT TERM EXIT
    echo
    echo "==> stopping web, worker and beat"
    stop_all
    exit 130
}
trap on_signal INT TERM
trap stop_all EXIT

setsid "$PY" -m celery -A config worker -l info --pool=solo -n "duban-worker@%h" &
pids+=($!)
setsid "$PY" -m celery -A config beat -l info --pidfile= &
pids+=($!)
setsid "$PY" manage.py runserver --noreload "$HOST:$PORT" &
pids+=($!)

echo "==> running: http://127.0.0.1:$PORT/admin/  http://127.0.0.1:$PORT/api/v1/  http://127.0.0.1:$PORT/api/docs/"
echo "    demo password for every account: duban2026 (Ctrl-C stops everything)"

# If any one of the three dies, stop the others and report it.
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "==> a process exited (status $status); stopping the others"
exit "$status"
