"""Locust users for bench/dashboard_load.py: leaders opening the dashboard.

Each simulated leader signs in with its own API token (BENCH_TOKENS, comma-separated, handed out in
turn), loads the four dashboard requests one after the other as the page does, then reads it for
BENCH_THINK_MIN..BENCH_THINK_MAX seconds. Run through bench/dashboard_load.py, which starts the server
and prints the figures."""

from __future__ import annotations

import itertools
import os

from locust import HttpUser, between, task

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
