"""Production: every secret comes from the environment; a missing DJANGO_SECRET_KEY is an error."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, env

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Each gunicorn worker and Celery process keeps its database connection between requests instead of
# opening one per request (a few ms each: a fifth of a list page's time, bench/dashboard.py). The
# health check replaces a connection the server has dropped before a request uses it.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DUBAN_DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
