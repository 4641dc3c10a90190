"""Settings for csplatform, read from the environment (see .env.example).

With nothing configured the platform runs on SQLite, a filesystem Celery broker that needs
no server, and the console email backend. Setting DATABASE_URL, CELERY_BROKER_URL (or
REDIS_URL) and EMAIL_URL switches to PostgreSQL, Redis and SMTP.
"""

from __future__ import annotations

import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(str(env_file))

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV={DJANGO_ENV!r} is not known: set it to development, production or test."
    )
PRODUCTION = DJANGO_ENV == "production"

_DEV_SECRET = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 50 characters when "
        "DJANGO_ENV=production (python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

DEBUG = env.bool("DEBUG", default=not PRODUCTION and DJANGO_ENV != "test")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must list the host names the platform is served on when "
        "DJANGO_ENV=production, e.g. ALLOWED_HOSTS=cs.example.com."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csplatform",
    "accounts",
    "metrics",
    "onboarding",
    "health",
    "renewals",
    "playbooks",
    "qbr",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csplatform.middleware.UserTimezoneMiddleware",
    "axes.middleware.AxesMiddleware",
]
if env.bool("QUERY_COUNT_HEADER", default=False):
    # Used by `make bench` to read the number of queries behind each response.
    MIDDLEWARE.insert(0, "csplatform.middleware.QueryCountHeaderMiddleware")

ROOT_URLCONF = "csplatform.urls"
WSGI_APPLICATION = "csplatform.wsgi.application"
ASGI_APPLICATION = "csplatform.asgi.application"

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
                "django.template.context_processors.i18n",
                "csplatform.context_processors.platform",
            ],
        },
    },
]

# Database ------------------------------------------------------------------------------
# The test suite needs PostgreSQL (advisory locks, concurrent connections): under
# DJANGO_ENV=test the default is the local server, whichever way pytest was started.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/csplatform"
        if DJANGO_ENV == "test"
        else f"sqlite:///{VAR_DIR / 'csplatform.sqlite3'}",
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "DATABASE_URL must point to PostgreSQL (postgres://user@host:5432/name) or SQLite."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "csplatform.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    # Hashing at production strength makes every test that logs in take a third of a second.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# I18n ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # Development serves from the finders; an empty root keeps WhiteNoise from warning.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Email ---------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="csplatform <cs@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds before a pending outbox row is picked up again by the sweeper (lost enqueue).
OUTBOX_SWEEP_AFTER_SECONDS = env.int("OUTBOX_SWEEP_AFTER_SECONDS", default=300)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Retry delays are OUTBOX_RETRY_BACKOFF × 2^n seconds, at most OUTBOX_RETRY_BACKOFF_MAX;
# the maximum stays below OUTBOX_SWEEP_AFTER_SECONDS so the sweeper does not pre-empt a
# scheduled retry (harmless if it does: the row lock stops a second send).
OUTBOX_RETRY_BACKOFF = env.int("OUTBOX_RETRY_BACKOFF", default=2)
OUTBOX_RETRY_BACKOFF_MAX = env.int("OUTBOX_RETRY_BACKOFF_MAX", default=240)
if OUTBOX_MAX_ATTEMPTS < 1 or OUTBOX_RETRY_BACKOFF < 1 or OUTBOX_SWEEP_AFTER_SECONDS < 0:
    raise ImproperlyConfigured(
        "OUTBOX_MAX_ATTEMPTS and OUTBOX_RETRY_BACKOFF must be at least 1 and "
        "OUTBOX_SWEEP_AFTER_SECONDS at least 0."
    )

# Celery --------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/broker.
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://")):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a redis://, rediss:// or amqp:// URL, or unset for the "
        "built-in filesystem broker."
    )
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Tests run tasks inline unless they start a real worker (tests/integration).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=DJANGO_ENV == "test")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="csplatform")
# Latency-critical tasks go to "<CELERY_QUEUE>-fast" (csplatform/celery.py). A worker started
# without --queues serves both; `fastworker` serves only the fast one.
# Each queue is bound by its own name: bound by Celery's defaults, both would take every
# message of the default routing key, and a task would run twice.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, f"{CELERY_TASK_DEFAULT_QUEUE}-fast")
)
CELERY_TASK_ROUTES = ("csplatform.celery.route_task",)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Accounts whose signals changed get their figures (and health) refreshed every this many
# seconds, once their changes are ACCOUNT_REFRESH_DEBOUNCE_SECONDS old (a burst costs one).
ACCOUNT_REFRESH_SECONDS = env.float("ACCOUNT_REFRESH_SECONDS", default=15.0)
ACCOUNT_REFRESH_DEBOUNCE_SECONDS = env.float("ACCOUNT_REFRESH_DEBOUNCE_SECONDS", default=10.0)
# Usage sent to the tracking API reaches the daily rollups within this many seconds (it is
# added in bulk, many batches at a time, which is what lets ingestion keep up).
ROLLUP_FOLD_SECONDS = env.float("ROLLUP_FOLD_SECONDS", default=5.0)
# The one place where periodic jobs are declared; django-celery-beat loads them at start.
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "csplatform.tasks.outbox_sweep",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 240},
    },
    "accounts-financials-refresh": {
        "task": "accounts.tasks.financials_refresh_all",
        "schedule": crontab(minute=5, hour=0),
        "options": {"expires": 3600},
    },
    "metrics-recalculate-yesterday": {
        "task": "metrics.tasks.engine.metrics_recalculate_yesterday",
        "schedule": crontab(minute=20, hour=0),
        "options": {"expires": 6 * 3600},
    },
    "metrics-recalculate-today": {
        "task": "metrics.tasks.engine.metrics_recalculate_today",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    "events-purge-expired": {
        "task": "metrics.tasks.ingestion.events_purge_expired",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 6 * 3600},
    },
    "metrics-rollups-fold": {
        "task": "metrics.tasks.ingestion.rollups_fold",
        "schedule": ROLLUP_FOLD_SECONDS,
        "options": {"expires": ROLLUP_FOLD_SECONDS},
    },
    "metrics-refresh-changed-accounts": {
        "task": "metrics.tasks.engine.account_figures_refresh_changed",
        "schedule": ACCOUNT_REFRESH_SECONDS,
        "options": {"expires": ACCOUNT_REFRESH_SECONDS},
    },
    "health-overrides-expire": {
        "task": "health.tasks.health_overrides_expire",
        "schedule": crontab(minute=10, hour=0),
        "options": {"expires": 3600},
    },
    "playbooks-rules-evaluate": {
        "task": "playbooks.tasks.rules_evaluate_scheduled",
        "schedule": crontab(minute=50),
        "options": {"expires": 3000},
    },
    "playbooks-runs-purge": {
        "task": "playbooks.tasks.runs_purge",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 3600},
    },
    "playbooks-webhooks-sweep": {
        "task": "playbooks.tasks.webhooks_sweep",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
    "playbooks-digests": {
        "task": "playbooks.tasks.digests_send",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    "events-attach-pending": {
        "task": "metrics.tasks.ingestion.events_attach_pending",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 540},
    },
    "surveys-send-scheduled": {
        "task": "metrics.tasks.feedback.surveys_send_scheduled",
        "schedule": crontab(minute=10),
        "options": {"expires": 3000},
    },
    "onboarding-detect": {
        "task": "onboarding.tasks.plans_detect_all",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 540},
    },
    "onboarding-health-refresh": {
        "task": "onboarding.tasks.plans_health_refresh_all",
        "schedule": crontab(minute=25),
        "options": {"expires": 3000},
    },
    "onboarding-autostart-sweep": {
        "task": "onboarding.tasks.plans_autostart_sweep",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 840},
    },
    "renewals-sync": {
        "task": "renewals.tasks.renewals_sync_all",
        "schedule": crontab(minute="7-59/15"),
        "options": {"expires": 840},
    },
    "renewals-risk-refresh": {
        "task": "renewals.tasks.renewals_risk_refresh_all",
        "schedule": crontab(minute=35),
        "options": {"expires": 3000},
    },
    "renewals-auto-renew": {
        "task": "renewals.tasks.renewals_auto_renew_due",
        "schedule": crontab(minute=45, hour=0),
        "options": {"expires": 6 * 3600},
    },
    "renewals-churn-due": {
        "task": "renewals.tasks.accounts_churn_due",
        "schedule": crontab(minute=50, hour=0),
        "options": {"expires": 6 * 3600},
    },
    "renewals-lifecycle-stage": {
        "task": "renewals.tasks.accounts_renewal_stage_sync",
        "schedule": crontab(minute=55, hour=0),
        "options": {"expires": 6 * 3600},
    },
    "renewals-win-backs-detect": {
        "task": "renewals.tasks.win_backs_detect",
        "schedule": crontab(minute=0, hour=1),
        "options": {"expires": 6 * 3600},
    },
    # Hourly rather than once a day: a run missed while the worker was down is made up
    # within the hour, and a second run the same day finds nothing left to send.
    "renewals-reminders": {
        "task": "renewals.tasks.renewal_reminders_send",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    "renewals-cadence": {
        "task": "renewals.tasks.renewal_cadence_tasks",
        "schedule": crontab(minute=15, hour=6),
        "options": {"expires": 6 * 3600},
    },
    # QBRs falling due become tasks; quiet accounts get their quarterly temperature check.
    "qbr-cadence": {
        "task": "qbr.tasks.qbr_cadence_run",
        "schedule": crontab(minute=30, hour=6),
        "options": {"expires": 6 * 3600},
    },
    "qbr-batches-purge": {
        "task": "qbr.tasks.qbr_batches_purge",
        "schedule": crontab(minute=45, hour=3),
        "options": {"expires": 3600},
    },
}

# Signals and metrics -------------------------------------------------------------------
# Raw events are kept this long; rollups keep the history.
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=90)
# Segment's own limits: 32 KB per call, 500 KB per batch.
TRACKING_MAX_CALL_BYTES = env.int("TRACKING_MAX_CALL_BYTES", default=32 * 1024)
TRACKING_MAX_BATCH_BYTES = env.int("TRACKING_MAX_BATCH_BYTES", default=500 * 1024)
# "Active" end user: any event, or only these core event names (comma-separated).
ACTIVE_EVENTS = env.list("ACTIVE_EVENTS", default=[])
# Days of metrics the worker computes in the background after seed_demo (0: none): the
# demo's half year of signals, about ten seconds' work for its 200 accounts, on SQLite too.
DEMO_METRICS_BACKFILL_DAYS = env.int("DEMO_METRICS_BACKFILL_DAYS", default=180)
# Database connections a metric recalculation works on at once (slices of accounts side by
# side; PostgreSQL only). One per CPU core of the database server is about right.
METRICS_ENGINE_WORKERS = env.int("METRICS_ENGINE_WORKERS", default=2)
if METRICS_ENGINE_WORKERS < 1:
    raise ImproperlyConfigured("METRICS_ENGINE_WORKERS must be 1 or more.")
SURVEY_LINK_MAX_AGE_DAYS = env.int("SURVEY_LINK_MAX_AGE_DAYS", default=30)

# Playbooks and alerts ------------------------------------------------------------------------
# Outgoing webhooks: seconds to wait for a receiver, tries per delivery (retry delays are
# WEBHOOK_RETRY_BACKOFF × 2^n seconds), failures in a row before the endpoint is disabled.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_RETRY_BACKOFF = env.float("WEBHOOK_RETRY_BACKOFF", default=30.0)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=10)
# The hour (in each user's own time zone) the daily digest goes out.
DIGEST_HOUR = env.int("DIGEST_HOUR", default=7)
# Rule runs (and the matches they list) older than this are deleted every night.
PLAYBOOK_RUN_RETENTION_DAYS = env.int("PLAYBOOK_RUN_RETENTION_DAYS", default=180)
if not 0 <= DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("DIGEST_HOUR must be an hour of the day, 0 to 23.")

# Health -------------------------------------------------------------------------------------
# After a metric backfill, health is scored for at most this many of its last days (the
# history behind trends, charts and the backtest's recent past).
HEALTH_HISTORY_DAYS = env.int("HEALTH_HISTORY_DAYS", default=90)
# No contact is surveyed by hand twice within this many days (schedules have their own).
SURVEY_QUIET_PERIOD_DAYS = env.int("SURVEY_QUIET_PERIOD_DAYS", default=60)

# Onboarding ----------------------------------------------------------------------------
# New accounts in the onboarding stage get a plan from the best matching template that is
# set to start automatically (accounts created up to this many days ago count as new).
ONBOARDING_AUTO_START = env.bool("ONBOARDING_AUTO_START", default=True)
ONBOARDING_AUTO_START_WINDOW_DAYS = env.int("ONBOARDING_AUTO_START_WINDOW_DAYS", default=30)
# Shared plan links: default and longest lifetime in days.
ONBOARDING_SHARE_LINK_DAYS = env.int("ONBOARDING_SHARE_LINK_DAYS", default=30)
ONBOARDING_SHARE_LINK_MAX_DAYS = env.int("ONBOARDING_SHARE_LINK_MAX_DAYS", default=180)
# Seconds between new usage arriving and the activation check it triggers (debounced).
ONBOARDING_DETECT_DELAY_SECONDS = env.int("ONBOARDING_DETECT_DELAY_SECONDS", default=60)
if not 1 <= ONBOARDING_SHARE_LINK_DAYS <= ONBOARDING_SHARE_LINK_MAX_DAYS:
    raise ImproperlyConfigured(
        "ONBOARDING_SHARE_LINK_DAYS must be between 1 and ONBOARDING_SHARE_LINK_MAX_DAYS."
    )

# Renewals ------------------------------------------------------------------------------
# Days before the renewal date, and before the cancellation (notice) deadline, at which the
# owner gets a reminder task and email (SPEC §7).
RENEWALS_REMINDER_DAYS = env.list("RENEWALS_REMINDER_DAYS", cast=int, default=[120, 90, 60, 30])
RENEWALS_NOTICE_REMINDER_DAYS = env.list("RENEWALS_NOTICE_REMINDER_DAYS", cast=int, default=[30, 7])
# Contact cadence: a check-in every N days from RENEWALS_CADENCE_START_DAYS before the
# renewal date, every M days in its last RENEWALS_CADENCE_FINAL_WINDOW_DAYS.
RENEWALS_CADENCE_START_DAYS = env.int("RENEWALS_CADENCE_START_DAYS", default=120)
RENEWALS_CADENCE_DAYS = env.int("RENEWALS_CADENCE_DAYS", default=30)
RENEWALS_CADENCE_FINAL_WINDOW_DAYS = env.int("RENEWALS_CADENCE_FINAL_WINDOW_DAYS", default=30)
RENEWALS_CADENCE_FINAL_DAYS = env.int("RENEWALS_CADENCE_FINAL_DAYS", default=7)
# Default probability (%) of each forecast category.
RENEWALS_PROBABILITY = {
    "commit": env.int("RENEWALS_PROBABILITY_COMMIT", default=90),
    "probable": env.int("RENEWALS_PROBABILITY_PROBABLE", default=70),
    "at_risk": env.int("RENEWALS_PROBABILITY_AT_RISK", default=30),
    "churn": env.int("RENEWALS_PROBABILITY_CHURN", default=0),
}
# What makes a renewal at risk: the flags that count, and their thresholds.
RENEWALS_RISK_FLAGS = env.list(
    "RENEWALS_RISK_FLAGS", default=["health", "usage", "escalations", "nps"]
)
RENEWALS_RISK_HEALTH_COLORS = env.list("RENEWALS_RISK_HEALTH_COLORS", default=["red"])
RENEWALS_RISK_USAGE_DROP_PERCENT = env.int("RENEWALS_RISK_USAGE_DROP_PERCENT", default=30)
RENEWALS_RISK_ESCALATIONS = env.int("RENEWALS_RISK_ESCALATIONS", default=1)
RENEWALS_RISK_NPS_MAX = env.int("RENEWALS_RISK_NPS_MAX", default=6)
RENEWALS_RISK_NPS_DAYS = env.int("RENEWALS_RISK_NPS_DAYS", default=180)
# An auto-renewing line whose renewal date passed without a decision renews flat (a line
# more than RENEWALS_AUTO_RENEW_GRACE_DAYS overdue is left to a person).
RENEWALS_AUTO_RENEW = env.bool("RENEWALS_AUTO_RENEW", default=True)
RENEWALS_AUTO_RENEW_GRACE_DAYS = env.int("RENEWALS_AUTO_RENEW_GRACE_DAYS", default=30)
# Accounts whose next renewal is this close move to the "renewal" lifecycle stage.
RENEWALS_STAGE_DAYS = env.int("RENEWALS_STAGE_DAYS", default=90)
_RISK_FLAGS = {"health", "usage", "escalations", "nps"}
if any(d < 1 for d in RENEWALS_REMINDER_DAYS + RENEWALS_NOTICE_REMINDER_DAYS):
    raise ImproperlyConfigured(
        "RENEWALS_REMINDER_DAYS and RENEWALS_NOTICE_REMINDER_DAYS must list whole days of 1 or more."
    )
if not set(RENEWALS_RISK_FLAGS) <= _RISK_FLAGS:
    raise ImproperlyConfigured(
        f"RENEWALS_RISK_FLAGS may only name {', '.join(sorted(_RISK_FLAGS))}."
    )
if any(not 0 <= p <= 100 for p in RENEWALS_PROBABILITY.values()):
    raise ImproperlyConfigured("RENEWALS_PROBABILITY_* must be percentages from 0 to 100.")
if min(RENEWALS_CADENCE_DAYS, RENEWALS_CADENCE_FINAL_DAYS) < 1:
    raise ImproperlyConfigured(
        "RENEWALS_CADENCE_DAYS and RENEWALS_CADENCE_FINAL_DAYS must be 1 or more."
    )

# QBRs ----------------------------------------------------------------------------------
# The company's logo (a PNG or JPEG file; PowerPoint takes no SVG) and colours on every
# deck; empty: the platform's own logo.
QBR_LOGO_PATH = env.str("QBR_LOGO_PATH", default="")
QBR_PRIMARY_COLOR = env.str("QBR_PRIMARY_COLOR", default="#1F3A5F")
QBR_ACCENT_COLOR = env.str("QBR_ACCENT_COLOR", default="#2A9D8F")
# Accounts whose QBR falls due within this many days are on the "QBRs due" list, and get
# a task this many days ahead (QBR_DUE_TASK_DAYS).
QBR_DUE_WINDOW_DAYS = env.int("QBR_DUE_WINDOW_DAYS", default=30)
QBR_DUE_TASK_DAYS = env.int("QBR_DUE_TASK_DAYS", default=14)
# No QBR right after a new contract: the next one waits this many days after signing.
QBR_NEW_CONTRACT_QUIET_DAYS = env.int("QBR_NEW_CONTRACT_QUIET_DAYS", default=60)
# Touch models whose accounts are "quiet": a QBR twice a year and a quarterly temperature
# check email to their primary contact (QBR_TEMPERATURE_CHECK).
QBR_QUIET_TOUCH_MODELS = env.list("QBR_QUIET_TOUCH_MODELS", default=["tech"])
QBR_TEMPERATURE_CHECK = env.bool("QBR_TEMPERATURE_CHECK", default=True)
# Days a deck link in a follow-up email stays valid.
QBR_DECK_LINK_DAYS = env.int("QBR_DECK_LINK_DAYS", default=30)
# Largest batch of decks, in accounts; zips of finished batches are kept this many days.
QBR_BATCH_MAX_ACCOUNTS = env.int("QBR_BATCH_MAX_ACCOUNTS", default=500)
QBR_BATCH_RETENTION_DAYS = env.int("QBR_BATCH_RETENTION_DAYS", default=14)
for _name in ("QBR_PRIMARY_COLOR", "QBR_ACCENT_COLOR"):
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must be a colour like #1F3A5F.")
if QBR_LOGO_PATH and Path(QBR_LOGO_PATH).suffix.lower() not in (".png", ".jpg", ".jpeg"):
    raise ImproperlyConfigured("QBR_LOGO_PATH must name a PNG or JPEG file.")
if min(QBR_DUE_WINDOW_DAYS, QBR_DECK_LINK_DAYS, QBR_BATCH_MAX_ACCOUNTS) < 1:
    raise ImproperlyConfigured(
        "QBR_DUE_WINDOW_DAYS, QBR_DECK_LINK_DAYS and QBR_BATCH_MAX_ACCOUNTS must be 1 or more."
    )

# Cache ---------------------------------------------------------------------------------
CACHES = {
    "default": env.cache_url(
        "CACHE_URL",
        default=REDIS_URL.replace("redis://", "rediscache://", 1)
        if REDIS_URL
        else "locmemcache://",
    )
}

# REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "csplatform.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["csplatform.api.permissions.RoleMatrixPermission"],
    "DEFAULT_PARSER_CLASSES": [
        "csplatform.api.parsers.JSONParser",
        "csplatform.api.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "csplatform.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "csplatform.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "csplatform.api.throttling.AnonRateThrottle",
        "csplatform.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="6000/minute"),
        # Pages behind a link and no login (shared onboarding plans), per client address.
        "public_link": env.str("PUBLIC_LINK_THROTTLE", default="120/minute"),
    },
    "EXCEPTION_HANDLER": "csplatform.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csplatform API",
    "DESCRIPTION": "Customer success platform REST API. Authenticate with "
    "`Authorization: Api-Key <key>` (create keys under Settings → API keys).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several records have a `status` or `kind` with different choices; name each enum.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.choices.AccountStatus",
        "SubscriptionStatusEnum": "accounts.choices.SubscriptionStatus",
        "TaskStatusEnum": "accounts.choices.TaskStatus",
        "GoalStatusEnum": "accounts.choices.GoalStatus",
        "ActivityKindEnum": "accounts.choices.ActivityKind",
        "TaskKindEnum": "accounts.choices.TaskKind",
        "PlanStatusEnum": "onboarding.choices.PlanStatus",
        "HealthColorEnum": "health.choices.Color",
        "CriterionKindEnum": "onboarding.choices.CriterionKind",
        "CancelReasonEnum": "onboarding.choices.CancelReason",
        "RenewalOutcomeEnum": "renewals.choices.Outcome",
        "RenewalStageEnum": "renewals.choices.RenewalStage",
        "ForecastCategoryEnum": "renewals.choices.ForecastCategory",
        "ChurnReasonEnum": "renewals.choices.ReasonCode",
        "CounterOfferKindEnum": "renewals.choices.CounterOfferKind",
        "CounterOfferStatusEnum": "renewals.choices.CounterOfferStatus",
        "WinBackStatusEnum": "renewals.choices.WinBackStatus",
        "RuleModeEnum": "playbooks.choices.RuleMode",
        "RunSourceEnum": "playbooks.choices.RunSource",
        "MatchOutcomeEnum": "playbooks.choices.MatchOutcome",
        "ActionKindEnum": "playbooks.choices.ActionKind",
        "QbrStatusEnum": "qbr.choices.QbrStatus",
        "QbrKindEnum": "qbr.choices.QbrKind",
        "QbrStepSideEnum": "qbr.choices.StepSide",
        "OnboardingTaskSideEnum": "onboarding.choices.TaskSide",
    },
    "TAGS": [
        {"name": "accounts", "description": "Customer accounts."},
        {"name": "contacts", "description": "People at customers and their power-map roles."},
        {"name": "subscriptions", "description": "Contract lines; MRR is computed."},
        {"name": "activities", "description": "The account timeline."},
        {"name": "tasks", "description": "CSM to-dos."},
        {"name": "goals", "description": "Success-plan goals and their history."},
        {
            "name": "onboarding",
            "description": "Onboarding templates, plans and their tasks (SPEC §6).",
        },
        {
            "name": "renewals",
            "description": "Renewals, their forecast and outcomes, counter-offers and exit "
            "interviews (SPEC §7).",
        },
        {
            "name": "playbooks",
            "description": "Rules, their preview and run log, and the trigger catalogue (SPEC §5).",
        },
        {"name": "notifications", "description": "My in-app notifications."},
        {
            "name": "qbrs",
            "description": "QBRs and EBRs: prep packs, documents (PDF, PowerPoint), follow-up, "
            "and the accounts whose QBR falls due (SPEC §8).",
        },
    ],
}

# UI ------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
FILTERS_EMPTY_CHOICE_LABEL = _("Any")
COMPANY_NAME = env.str("COMPANY_NAME", default="csplatform")
CSV_IMPORT_MAX_ROWS = env.int("CSV_IMPORT_MAX_ROWS", default=50_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# Security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"once": {"()": "csplatform.log_filters.OncePerProcess"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # WeasyPrint logs every layout step of every PDF at INFO, and repeats its warnings
        # for every document.
        "weasyprint": {"level": "WARNING", "filters": ["once"]},
        "fontTools": {"level": "WARNING"},
    },
}
