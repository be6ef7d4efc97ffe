"""Settings for the worker subprocesses of tests/tasks/test_exactly_once.py (never for the web).

The test settings, plus what the environment the test sets up says: the test's own queue as the
worker's default queue (so remind_items and deliver_notification queued from inside the worker
stay on it), the Redis visibility timeout, and channel doubles that record every completed send
in files the test reads (a subprocess cannot share the in-memory doubles of tests/tasks/fakes.py)."""

import os

from config.settings.test import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["DUBAN_TEST_QUEUE"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("DUBAN_TEST_VISIBILITY_TIMEOUT", "3600")),
    # Look for messages of dead workers every second, not every 10 × 10 s (kombu's default).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# Workers of other checkouts share the broker database: no broadcast commands, no events.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_SEND_TASK_EVENTS = False

DUBAN_NOTIFICATION_CHANNELS = ["inbox", "email", "sms"]
DUBAN_WEBHOOK_URL = ""
DUBAN_SMS_BACKEND = "tests.tasks.exactly_once_support.FileSmsGateway"
EMAIL_BACKEND = "tests.tasks.exactly_once_support.FileEmailBackend"
