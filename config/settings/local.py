"""The embedded default: SQLite, filesystem broker, demo data; for trying the service on one machine."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-only-not-secret-duban")
os.environ.setdefault("DJANGO_DEBUG", "true")

from config.settings.base import *  # noqa: E402,F403
