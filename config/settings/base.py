"""Settings shared by every environment; values come from the environment (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Where the embedded default keeps its database, broker folders and files; a soak run points it elsewhere.
VAR_DIR = Path(env("DUBAN_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "config.admin.DubanAdminConfig",  # django.contrib.admin with our site (office staff by role)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts",
    "supervision",
    "tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Idempotency-Key on every API POST (accounts/idempotency.py); after authentication and CSRF.
    "accounts.idempotency.IdempotencyKeyMiddleware",
    # Last, as django-axes asks: turns a sign-in refused by the lockout into a 429 (supervision/api/errors.py).
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username or address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # base.html's header: the links of the user's roles, the unread messages.
                "supervision.web.navigation.navigation",
                "tasks.web.context.inbox",
            ],
            # The dashboard's count cell (a tag, not an include: thousands per page).
            "libraries": {"figures": "supervision.web.figure_tags"},
        },
    },
]

# DATABASE_URL picks PostgreSQL (postgres://...) or SQLite (sqlite:///...).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'duban.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing, and take the
    # write lock at BEGIN so two writers never deadlock on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs ~250 ms per statement on the statistics' aggregates over a million items
    # and saves less than it costs (bench/dashboard.py); the app's connections run without it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# ECharts and htmx from npm (package.json; scripts/_node.sh runs `npm ci`), served as static/vendor/echarts/
# by config/staticfiles.py, which exposes only the files pages load.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfiles.NpmFinder",
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DUBAN_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Evidence files are bounded; a larger upload is refused with a clear message.
DUBAN_MAX_ATTACHMENT_BYTES = env.int("DUBAN_MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024)
# All the evidence filed on one item (its reports, requests and explanations) together.
DUBAN_MAX_ITEM_ATTACHMENT_BYTES = env.int("DUBAN_MAX_ITEM_ATTACHMENT_BYTES", default=200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.authentication.IntegrationOperationAllowed",
    ],
    # JSON that PostgreSQL cannot store (NUL, lone surrogates) is a 400, not a database error.
    "DEFAULT_PARSER_CLASSES": [
        "supervision.api.parsers.TextSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "supervision.api.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": 20,
    # Error responses and nullable nested records documented once for every operation.
    "DEFAULT_SCHEMA_CLASS": "supervision.api.schema.DubanAutoSchema",
    "EXCEPTION_HANDLER": "supervision.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
    # How many proxies in front of the service append to X-Forwarded-For; 0: the header is ignored
    # and the socket's address counts (accounts/signin.py: client_address).
    "NUM_PROXIES": env.int("DUBAN_NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "督办 Duban API",
    "DESCRIPTION": "督查台账服务：批示件、督办事项、签收、进展反馈、延期、办结、回访复核。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.idempotency.document_idempotency_key",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ClassificationEnum": "accounts.choices.Classification",
        "UnitKindEnum": "accounts.choices.UnitKind",
        "InstructionKindEnum": "supervision.choices.InstructionKind",
        "ReportKindEnum": "supervision.choices.ReportKind",
        "RequestKindEnum": "supervision.choices.RequestKind",
        "NoticeKindEnum": "supervision.choices.NoticeKind",
        "DepartmentEnum": "supervision.choices.ReferralDepartment",
        "ApprovableClassificationEnum": "supervision.choices.APPROVABLE_CHOICES",
        "WebhookEventTypeEnum": "tasks.choices.WebhookEventType",
        # Every "status" field has its own choices; named after them, not numbered by a hash.
        "ItemStatusEnum": "supervision.choices.ItemStatus",
        "RequestStatusEnum": "supervision.choices.RequestStatus",
        "ExplanationStatusEnum": "supervision.choices.ExplanationStatus",
        "NoticeStatusEnum": "supervision.choices.NoticeStatus",
        "ImportJobStatusEnum": "supervision.choices.ImportJobStatus",
        "DeliveryStatusEnum": "tasks.choices.DeliveryStatus",
        "ActivityKindEnum": "supervision.choices.ActivityKind",
        "SuspicionStatusEnum": "supervision.choices.SuspicionStatus",
        "SuspicionSourceEnum": "supervision.choices.SuspicionSource",
    },
}

# Celery: Redis when REDIS_URL is set, otherwise an embedded filesystem broker (no server needed).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # kombu's own filesystem transport can hand the worker a half-written message; ours renames a
    # message into the queue only when it is whole (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
else:
    # How long an unacknowledged message waits before Redis hands it to another worker; a killed
    # worker's deliveries are also re-queued sooner by retry_stuck_deliveries.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False

# Overdue explanations (超期说明), accountability and notices (通报).
DUBAN_EXPLANATION_WORKDAYS = env.int("DUBAN_EXPLANATION_WORKDAYS", default=3)
DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION = env.bool("DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION", default=False)
DUBAN_NOTICE_NUMBER_PREFIX = env("DUBAN_NOTICE_NUMBER_PREFIX", default="督通")
# The issuing office in the masthead of notices and assignment sheets. Empty: taken from the unit
# tree (the supervision office under its county committee, e.g. 中共云溪县委督查室).
DUBAN_NOTICE_ISSUER = env("DUBAN_NOTICE_ISSUER", default="")
DUBAN_SHEET_NUMBER_PREFIX = env("DUBAN_SHEET_NUMBER_PREFIX", default="督办")

# Quiet hours: reminders (except 特急) go out on working days between these times only.
import datetime as _dt  # noqa: E402

DUBAN_REMINDER_DAY_STARTS = _dt.time.fromisoformat(env("DUBAN_REMINDER_DAY_STARTS", default="08:30"))
DUBAN_REMINDER_DAY_ENDS = _dt.time.fromisoformat(env("DUBAN_REMINDER_DAY_ENDS", default="18:00"))
# The same working day holds every non-urgent message on the push channels (email, SMS, webhook,
# 企业微信, 钉钉) until it starts (tasks/outbox/timing.py). Off only in the test settings, so tests
# not about timing behave the same on a Saturday night; the timing tests turn it on.
DUBAN_QUIET_HOURS = env.bool("DUBAN_QUIET_HOURS", default=True)
# Links in digests and chat messages: "/items/<id>/" is prefixed with this (e.g. https://duban.example.gov.cn).
DUBAN_SITE_URL = env("DUBAN_SITE_URL", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Notifications
# The outbox (tasks/outbox/: notifications.py, base.py, channels.py): channels, retries and the dead-letter threshold.
# Channels a notification goes out on unless the sender names its own. Email and SMS are skipped
# for users without an address or phone; "webhook" only takes effect when DUBAN_WEBHOOK_URL is set.
# "wecom" / "dingtalk" reach only people whose unit (or a parent unit) has such a channel configured.
DUBAN_NOTIFICATION_CHANNELS = env.list(
    "DUBAN_NOTIFICATION_CHANNELS", default=["inbox", "email", "sms", "webhook", "wecom", "dingtalk"]
)
# After this many failed attempts a delivery is dead (dead-letter list) until an operator re-sends it.
DUBAN_DELIVERY_MAX_ATTEMPTS = env.int("DUBAN_DELIVERY_MAX_ATTEMPTS", default=5)
# Exponential backoff between attempts: base · 2^(n-1) seconds, capped, with jitter so a recovering
# SMTP server or gateway is not hit by every queued message in the same second.
DUBAN_DELIVERY_RETRY_BASE_SECONDS = env.int("DUBAN_DELIVERY_RETRY_BASE_SECONDS", default=30)
DUBAN_DELIVERY_RETRY_MAX_SECONDS = env.int("DUBAN_DELIVERY_RETRY_MAX_SECONDS", default=600)
# An open delivery this long past its due time has lost its task (worker killed, message lost):
# the sweep re-queues it. Longer than a normal queue wait, so the sweep rarely doubles a live task.
DUBAN_DELIVERY_STUCK_AFTER_SECONDS = env.int("DUBAN_DELIVERY_STUCK_AFTER_SECONDS", default=300)
DUBAN_DELIVERY_SWEEP_BATCH = env.int("DUBAN_DELIVERY_SWEEP_BATCH", default=500)
# Items classified above this level (密级, accounts.choices.Classification; 1 = 内部) are never
# described over email, SMS or webhook: those messages only say "log in to read it" (DOMAIN.md rule 13).
DUBAN_EXTERNAL_MAX_CLASSIFICATION = env.int("DUBAN_EXTERNAL_MAX_CLASSIFICATION", default=1)
DUBAN_SMS_BACKEND = env("DUBAN_SMS_BACKEND", default="tasks.outbox.channels.ConsoleSmsGateway")
DUBAN_SMS_SIGNATURE = env("DUBAN_SMS_SIGNATURE", default="【督办】")
DUBAN_SMS_MAX_LENGTH = env.int("DUBAN_SMS_MAX_LENGTH", default=300)
DUBAN_WEBHOOK_URL = env("DUBAN_WEBHOOK_URL", default="")
DUBAN_WEBHOOK_SECRET = env("DUBAN_WEBHOOK_SECRET", default="")
DUBAN_WEBHOOK_TIMEOUT = env.float("DUBAN_WEBHOOK_TIMEOUT", default=10.0)
# Background ledger export files (supervision/export_jobs.py) are deleted this many hours after they were written.
DUBAN_EXPORT_JOB_KEEP_HOURS = env.int("DUBAN_EXPORT_JOB_KEEP_HOURS", default=24)
# The audit chain's keys, kept outside the database: "id:hexkey[,id:hexkey…]", the first is current
# (new events), the others verify older events after a rotation. Empty: events are not keyed.
DUBAN_AUDIT_KEYS = env.str("DUBAN_AUDIT_KEYS", default="")
# The chain head is also appended to this file (and logged to `duban.audit.anchor`) every
# DUBAN_AUDIT_ANCHOR_MINUTES (config/celery.py, default 10), outside the database, so cutting the
# newest events off is detected (supervision/audit/anchor.py). Point it at storage the database's
# users cannot write (or ship the log line); empty: no anchors.
DUBAN_AUDIT_ANCHOR_FILE = env.str("DUBAN_AUDIT_ANCHOR_FILE", default=str(VAR_DIR / "audit-anchors.jsonl"))
# Per-user quotas on expensive jobs: at most this many export / import jobs per user within the
# window (seconds); beyond it the API answers 429 with Retry-After.
DUBAN_JOB_QUOTA_WINDOW_SECONDS = env.int("DUBAN_JOB_QUOTA_WINDOW_SECONDS", default=600)
DUBAN_EXPORT_JOB_QUOTA = env.int("DUBAN_EXPORT_JOB_QUOTA", default=10)
DUBAN_IMPORT_JOB_QUOTA = env.int("DUBAN_IMPORT_JOB_QUOTA", default=10)
# Dashboard figures are shared between viewers of the same scope for this long at most (the lights
# move with the clock; see supervision/stats/cache.py). 0 turns sharing off.
DUBAN_STATS_CACHE_SECONDS = env.int("DUBAN_STATS_CACHE_SECONDS", default=60)
# After a ledger write, shared figures computed before it are served at most this long (seconds)
# after they were computed; supervision/stats/cache.py says why. 0: a write is seen at once.
DUBAN_STATS_MAX_LAG_SECONDS = env.int("DUBAN_STATS_MAX_LAG_SECONDS", default=30)
# Webhook subscriptions of OA systems (tasks/outbox/webhooks/): more patient than the person-facing
# channels, so an OA system down for a maintenance window still gets every event in order: 12
# attempts, backoff capped at 30 min (≈1.5–3 h in all). The cap stays under the Redis visibility
# timeout (CELERY_VISIBILITY_TIMEOUT, 1 h), or a waiting retry would be handed to a second worker.
DUBAN_WEBHOOK_MAX_ATTEMPTS = env.int("DUBAN_WEBHOOK_MAX_ATTEMPTS", default=12)
DUBAN_WEBHOOK_RETRY_MAX_SECONDS = env.int("DUBAN_WEBHOOK_RETRY_MAX_SECONDS", default=1800)
# Loopback, link-local (cloud metadata) and reserved targets are refused unless this is set (tests, a local receiver).
DUBAN_WEBHOOK_ALLOW_LOOPBACK = env.bool("DUBAN_WEBHOOK_ALLOW_LOOPBACK", default=False)
# 企业微信 and 钉钉 work notifications (tasks/outbox/chat.py): the platforms' API hosts (a private
# deployment or a test receiver may differ); group robots use the address each unit enters.
DUBAN_WECOM_API_BASE = env("DUBAN_WECOM_API_BASE", default="https://qyapi.weixin.qq.com")
DUBAN_DINGTALK_API_BASE = env("DUBAN_DINGTALK_API_BASE", default="https://oapi.dingtalk.com")
# Mail: a delivery holds its row lock while sending, so SMTP must time out rather than hang.
# Without DJANGO_EMAIL_BACKEND, DEBUG prints mail to the console; production must name SMTP settings.
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("DJANGO_EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="督办 <duban@localhost>")
DUBAN_EMAIL_MESSAGE_ID_DOMAIN = env("DUBAN_EMAIL_MESSAGE_ID_DOMAIN", default="duban.local")


import datetime  # noqa: E402

# Sign-in (accounts/signin.py). X-Forwarded-For is believed only from these proxies (addresses or
# networks, e.g. "10.0.0.5,10.1.0.0/24"); empty: from any peer, as far as DUBAN_NUM_PROXIES says.
DUBAN_TRUSTED_PROXIES = env.list("DUBAN_TRUSTED_PROXIES", default=[])
# Lockout (django-axes): this many failed sign-ins within the period lock the username, and
# separately the address, for the period after the last failure, the right password included.
# An administrator unlocks in the admin (登录失败记录). Refused attempts do not extend the lockout.
AXES_FAILURE_LIMIT = env.int("DUBAN_SIGNIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("DUBAN_SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.signin.client_address"
AXES_LOCKOUT_CALLABLE = "supervision.api.errors.signin_lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the address's failures: with it, signing in to one's own account between
# guesses would reset the per-address count.
AXES_RESET_ON_SUCCESS = False
AXES_ENABLE_ADMIN = False  # our own admin, in Chinese, with an audited unlock (supervision/admin/signin.py)
AXES_VERBOSE = False
# Failures and lockouts are logged (WARNING); axes's per-request INFO lines are not.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}

# API tokens (django-rest-knox, accounts/tokens.py): they expire DUBAN_TOKEN_TTL_HOURS after their
# last use, and DUBAN_TOKEN_MAX_TTL_HOURS after sign-in at the latest (0: no such limit).
_token_max_hours = env.int("DUBAN_TOKEN_MAX_TTL_HOURS", default=7 * 24)
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=env.int("DUBAN_TOKEN_TTL_HOURS", default=12)),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": datetime.timedelta(hours=_token_max_hours) if _token_max_hours else None,
    "MIN_REFRESH_INTERVAL": 60,
    "AUTH_HEADER_PREFIX": "Token",
}

# Duplicate matters (issue 15, DOMAIN.md rule 12): items closed within this many days are still
# looked at when a new one is registered; candidates shown at most.
DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS = env.int("DUBAN_DUPLICATE_CLOSED_WINDOW_DAYS", default=90)
DUBAN_DUPLICATE_MAX_CANDIDATES = env.int("DUBAN_DUPLICATE_MAX_CANDIDATES", default=5)
