"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi:application`
(with DJANGO_SETTINGS_MODULE=config.settings.production and the environment it names).

The worker timeout is long on purpose: a streamed Excel export of a whole provincial ledger
(100,000 items) takes about 25 s on 2 cores (bench/README.md), and gunicorn's default 30 s would
kill it half-written. Everything else answers in milliseconds, so a long timeout costs nothing."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 300))
graceful_timeout = 30
accesslog = "-"


def post_worker_init(worker):
    """Each worker reads the figures' columns as it starts (supervision/stats/columns.py: a few
    seconds at a million items), so no leader's first request waits for it."""
    from supervision.stats import columns

    columns.warm()
