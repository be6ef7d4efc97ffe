"""Production: every secret comes from the environment; a missing DJANGO_SECRET_KEY is an error.

HTTPS (README, "Production"): the service redirects plain HTTP to HTTPS and sends HSTS. Behind a
proxy that terminates TLS, Django sees plain HTTP unless the proxy says otherwise: set
DJANGO_SECURE_PROXY_SSL_HEADER to the header the proxy sets (and overwrites, never passes on from
the client), e.g. HTTP_X_FORWARDED_PROTO; or let the proxy redirect and set DJANGO_SECURE_SSL_REDIRECT=false.
`manage.py check --deploy` prints no issue with the defaults; each switch that turns a protection
off brings its warning back, on purpose."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, env

DEBUG = False
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Believed only when configured: a client reaching the application server directly could otherwise
# claim HTTPS with a header of its own.
_proxy_ssl_header = env("DJANGO_SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, env("DJANGO_SECURE_PROXY_SSL_VALUE", default="https"))
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Health checks of a load balancer that probes over plain HTTP (regexes of paths without the leading
# slash, e.g. "^healthz$"); empty: none.
SECURE_REDIRECT_EXEMPT = env.list("DJANGO_SECURE_REDIRECT_EXEMPT", default=[])
# HSTS: browsers that have seen the service over HTTPS refuse plain HTTP to it for this long (0: off).
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Covering subdomains and joining the browsers' preload list bind every host of the parent domain
# (a government domain whose other systems may still be HTTP-only): the domain owner's decision,
# not this service's. Off by default, so their warnings (W005, W021) are silenced until switched on.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]

# Each gunicorn worker and Celery process keeps its database connection between requests instead of
# opening one per request (a few ms each: a fifth of a list page's time, bench/dashboard.py). The
# health check replaces a connection the server has dropped before a request uses it.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DUBAN_DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
