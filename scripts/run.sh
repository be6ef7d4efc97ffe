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
# Only this machine can reach the demo (it runs with DEBUG on); DUBAN_HOST=0.0.0.0 opens it to the network.
HOST="${DUBAN_HOST:-127.0.0.1}"
PORT="${DUBAN_PORT:-8000}"

VAR="${DUBAN_VAR_DIR:-$ROOT/var}"
mkdir -p "$VAR/broker/queue" "$VAR/broker/processed" "$VAR/broker/control" "$VAR/media"

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
# Likewise the overdue sweep: the demo's overdue items owe 超期说明 at once (the units' 应作超期说明
# lists), not a quarter of an hour later at beat's first run.
echo "==> queue tasks.overdue.sweep_overdue_explanations"
"$PY" -m celery -A config call tasks.overdue.sweep_overdue_explanations >/dev/null

# The worker and beat are supervised: if one dies it is started again (up to DUBAN_RESTARTS times,
# default 5), so one bad moment does not stop the web server; the web server's own exit stops all.
RESTARTS="${DUBAN_RESTARTS:-5}"
declare -A pid_of=()
start_worker() { setsid "$PY" -m celery -A config worker -l info --pool=solo -n "duban-worker@%h" & pid_of[worker]=$!; }
start_beat() { setsid "$PY" -m celery -A config beat -l info --pidfile= & pid_of[beat]=$!; }
start_web() { setsid "$PY" manage.py runserver --noreload "$HOST:$PORT" & pid_of[web]=$!; }

stop_all() {
    # Each process runs in its own process group (setsid), so this also stops their children.
    for pid in "${pid_of[@]}"; do
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

start_worker
start_beat
start_web

echo "==> running: http://$HOST:$PORT/  (API http://$HOST:$PORT/api/v1/, docs /api/docs/, admin /admin/)"
echo "    demo password for every account: duban2026 (Ctrl-C stops everything)"

restarts=0
while true; do
    set +e
    wait -n "${pid_of[@]}"
    status=$?
    set -e
    for name in web worker beat; do
        if ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
            if [ "$name" = web ]; then
                echo "==> the web server exited (status $status); stopping worker and beat"
                exit "$status"
            fi
            restarts=$((restarts + 1))
            if [ "$restarts" -gt "$RESTARTS" ]; then
                echo "==> $name exited (status $status) and $RESTARTS restarts are used up; stopping everything"
                exit "$status"
            fi
            echo "==> $name exited (status $status); restart $restarts of $RESTARTS" >&2
            "start_$name"
        fi
    done
done
