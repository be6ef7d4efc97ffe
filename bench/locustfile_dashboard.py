"""Locust users for bench/dashboard_load.py: leaders opening the dashboard.

Each simulated leader signs in with its own API token (BENCH_TOKENS, comma-separated, handed out in
turn), loads the four dashboard requests one after the other as the page does, then reads it for
BENCH_THINK_MIN..BENCH_THINK_MAX seconds. With BENCH_WRITES_PER_MINUTE > 0 one more user, a unit
handler, files that many progress reports a minute (BENCH_WRITERS: "token:item" pairs), so the
ledger changes under the leaders as it does in office hours. Run through bench/dashboard_load.py,
which starts the server and prints the figures."""

from __future__ import annotations

import itertools
import os

from locust import HttpUser, between, constant_pacing, task

TOKENS = itertools.cycle([t for t in os.environ.get("BENCH_TOKENS", "").split(",") if t])
PAGES = [
    ("summary", "/api/v1/stats/summary/"),
    ("units", "/api/v1/stats/units/"),
    ("trend", "/api/v1/stats/trend/"),
    ("overdue page", "/api/v1/items/?overdue=true&ordering=deadline"),
]


class Leader(HttpUser):
    wait_time = between(float(os.environ.get("BENCH_THINK_MIN", "1")), float(os.environ.get("BENCH_THINK_MAX", "3")))

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {next(TOKENS)}"

    @task
    def open_dashboard(self):
        for name, path in PAGES:
            with self.client.get(path, name=name, catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")


WRITES_PER_MINUTE = float(os.environ.get("BENCH_WRITES_PER_MINUTE", "0"))
WRITERS = itertools.cycle([pair.split(":") for pair in os.environ.get("BENCH_WRITERS", "").split(",") if pair])


if WRITES_PER_MINUTE > 0:

    class UnitHandler(HttpUser):
        """A unit handler reporting progress: every report is a committed ledger write."""

        fixed_count = 1
        wait_time = constant_pacing(60 / WRITES_PER_MINUTE)

        @task
        def report(self):
            token, item = next(WRITERS)
            with self.client.post(
                f"/api/v1/items/{item}/reports/",
                json={"progress_text": "按计划推进，本周完成现场核查"},
                headers={"Authorization": f"Token {token}"},
                name="progress report (write)",
                catch_response=True,
            ) as response:
                if response.status_code != 201:
                    response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
