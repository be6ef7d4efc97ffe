# Sourced by run.sh and test.sh: make sure node_modules/ holds what package-lock.json pins (the
# browser libraries served from our static files, e.g. ECharts as static/vendor/echarts/).
# node_modules/ is not committed. Runs `npm ci` only when node_modules is missing or
# package-lock.json changed (stamp keyed on its SHA-256), as _venv.sh does for requirements.txt.

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

ensure_node_modules() {
    local want stamp="$ROOT/node_modules/.package-lock.sha256"
    want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
    if [ -d "$ROOT/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "找不到 npm (need Node.js and npm to install package-lock.json, e.g. 'apt-get install -y nodejs npm')" >&2
        return 1
    fi
    echo "==> npm ci (package-lock.json into node_modules/)"
    # npm ci starts from an empty node_modules/, so the stamp is written after it.
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
}
