"""Soak run of the embedded default (issue 11, finding 9): `make run` (scripts/run.sh) for N minutes with
beat firing EVERY periodic job every few seconds and a client writing through the API, then checks that
web, worker and beat are all still alive and that every task published was settled exactly once.

    .venv/bin/python bench/soak_run.py --minutes 30 [--every 5] [--port 8765]

It runs in a fresh folder (DUBAN_VAR_DIR), so it does not touch var/. Each process logs the tasks it
publishes and the tasks it settles (config/soak.py); a task id must be settled as many times as it was
published (a retry publishes the same id again). No restarts are allowed (DUBAN_RESTARTS=0), so a dead
worker or beat ends the run and shows here. Prints a summary and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def call(base, method, path, token=None, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw and "json" in resp.headers.get("Content-Type", "") else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def sign_in(base, username):
    status, body = call(base, "POST", "/api/v1/auth/token/", body={"username": username, "password": "duban2026"})
    assert status == 200, (username, status)
    return body["token"]


class Client(threading.Thread):
    """Writes progress reports as a township handler and reads lists and figures as the office."""

    def __init__(self, base, stop):
        super().__init__(daemon=True)
        self.base, self.stop = base, stop
        self.statuses = collections.Counter()
        self.latencies = []
        self.failures = []

    def request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            status, body = call(self.base, *args, **kwargs)
        except Exception as exc:  # a dead web server shows as connection errors
            self.failures.append(repr(exc))
            status, body = "error", None
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1
        if status == "error" or (isinstance(status, int) and status >= 500):
            self.failures.append(f"{args[:2]} -> {status}")
        return status, body

    def run(self):
        handler, office = sign_in(self.base, "luoyan"), sign_in(self.base, "duchashi")
        _, page = self.request("GET", "/api/v1/items/?status=in_progress&page_size=50", token=handler)
        items = [row["id"] for row in (page or {}).get("results", [])]
        n = 0
        while not self.stop.is_set():
            n += 1
            if items:
                self.request(
                    "POST",
                    f"/api/v1/items/{items[n % len(items)]}/reports/",
                    token=handler,
                    body={"progress_text": f"浸泡测试第 {n} 次进展报告", "progress": n % 100},
                )
            self.request("GET", "/api/v1/items/?page_size=20", token=office)
            self.request("GET", "/api/v1/stats/summary/", token=office)
            self.request("GET", "/api/v1/inbox/", token=handler)
            time.sleep(0.05)


def ledger(folder: Path):
    counts = {kind: collections.Counter() for kind in ("published", "ran", "expired", "revoked")}
    for path in folder.glob("*.log"):
        kind = path.name.split("-", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines():
            task_id, _, name = line.partition(" ")
            counts[kind][task_id] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=5, help="seconds between firings of every beat job")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="duban-soak-"))
    log_folder = var / "soak"
    env = dict(os.environ)
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)  # the embedded default: SQLite and the filesystem broker
    env.update(
        DUBAN_VAR_DIR=str(var),
        DUBAN_PORT=str(args.port),
        DUBAN_BEAT_EVERY_SECONDS=str(args.every),
        DUBAN_SOAK_LOG=str(log_folder),
        DUBAN_RESTARTS="0",
        DUBAN_MEDIA_ROOT=str(var / "media"),
    )
    out = open(var / "run.log", "w")
    run = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{args.port}"
    started = time.monotonic()
    while time.monotonic() - started < 300:
        try:
            with urllib.request.urlopen(base + "/login/", timeout=5) as resp:
                if resp.status == 200:
                    break
        except Exception:
            pass
        time.sleep(1)
    else:
        print("web server did not come up; see", var / "run.log")
        return 1
    print(f"soak: {var} (make run up after {time.monotonic() - started:.0f} s); {args.minutes} min, beat every {args.every} s")

    stop = threading.Event()
    client = Client(base, stop)
    client.start()
    deadline = time.monotonic() + args.minutes * 60
    alive = True
    while time.monotonic() < deadline:
        if run.poll() is not None:
            alive = False
            break
        time.sleep(5)
    stop.set()
    client.join(timeout=60)

    # Let the worker finish what is queued: the queue folder empties and the ledger stops moving.
    queue = var / "broker" / "queue"
    settle_until = time.monotonic() + 180
    while time.monotonic() < settle_until and alive:
        counts = ledger(log_folder)
        settled = counts["ran"] + counts["expired"] + counts["revoked"]
        if not any(queue.iterdir()) and all(settled[t] >= n for t, n in counts["published"].items()):
            break
        time.sleep(2)
    alive = alive and run.poll() is None
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    worker_up = any("celery -A config worker" in p for p in processes.splitlines())
    beat_up = any("celery -A config beat" in p for p in processes.splitlines())
    os.killpg(run.pid, signal.SIGTERM)
    run.wait(timeout=60)

    counts = ledger(log_folder)
    settled = counts["ran"] + counts["expired"] + counts["revoked"]
    published = counts["published"]
    lost = {t: n - settled[t] for t, n in published.items() if settled[t] < n}
    twice = {t: settled[t] - n for t, n in published.items() if settled[t] > n}
    unknown = [t for t in settled if t not in published]
    names = collections.Counter()
    for path in log_folder.glob("ran-*.log"):
        for line in path.read_text(encoding="utf-8").splitlines():
            names[line.partition(" ")[2]] += 1
    log_text = (var / "run.log").read_text(encoding="utf-8", errors="replace")
    lat = sorted(client.latencies) or [0.0]
    print(f"web, worker, beat alive at the end: {alive} (worker process {worker_up}, beat process {beat_up})")
    print(
        f"tasks published {sum(published.values())}, ran {sum(counts['ran'].values())}, "
        f"expired {sum(counts['expired'].values())}, lost {len(lost)}, settled twice {len(twice)}, unknown {len(unknown)}"
    )
    print("tasks by name:", dict(names.most_common()))
    print(
        f"client requests {sum(client.statuses.values())}: {dict(client.statuses)}; "
        f"median {statistics.median(lat) * 1000:.0f} ms, p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.0f} ms"
    )
    print(f"failures (5xx or connection errors): {len(client.failures)} {client.failures[:5]}")
    print(
        f"JSONDecodeError in the log: {log_text.count('JSONDecodeError')}; restarts: {log_text.count('restart ')}; "
        f"broken messages set aside: {log_text.count('undecodable message')}"
    )
    ok = alive and worker_up and beat_up and not lost and not twice and not unknown and not client.failures
    ok = ok and sum(published.values()) > 0 and "JSONDecodeError" not in log_text
    print("SOAK", "PASS" if ok else "FAIL", f"(log: {var / 'run.log'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
