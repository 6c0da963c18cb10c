"""Paperboy settings: one module, driven by environment variables (django-environ).

Every variable is documented, with its default, in `.env.example`. The defaults
need nothing running (SQLite under var/, Celery eager, emails as .eml files under
var/outbox/); DATABASE_URL, REDIS_URL and EMAIL_BACKEND / ANYMAIL_* switch to the
real parts. Bad values fail loudly at start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS as RESERVED_LOG_ATTRS

from config.anymail_env import anymail_settings

# Generic admin and form classes (ModelAdmin[Paper], ModelForm[Topic]) at run time, as mypy sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PAPERBOY_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core ---------------------------------------------------------------------

PAPERBOY_ENV = env.str("PAPERBOY_ENV", default="development")
if PAPERBOY_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("PAPERBOY_ENV must be 'development' or 'production'")
DEBUG = env.bool("DEBUG", default=PAPERBOY_ENV != "production")
if DEBUG and PAPERBOY_ENV == "production":
    raise ImproperlyConfigured("DEBUG cannot be on when PAPERBOY_ENV=production")

_DEV_SECRET_KEY = "django-insecure-paperboy-development-only"  # noqa: S105 - dev default
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a random value of at least 32 characters")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed: see
# subscriptions/clientip.py. Empty: the connecting address is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for links in emails and feeds, without a trailing slash.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Paperboy")

INSTALLED_APPS = [
    "digest.desk.config.PaperboyAdminConfig",  # django.contrib.admin with the editor's desk pages
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "anymail",
    "django_celery_beat",
    "subscriptions",
    "digest",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

if not os.environ.get("DATABASE_URL", "").strip():
    os.environ.pop("DATABASE_URL", None)  # set but empty means "use the default"
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the default SQLite file lives here
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not a database URL this project knows (postgres://… or sqlite:///…)"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that drops packets fails a connection in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, public pages) -----------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "paperboy",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # The in-process cache is fine for one runserver process; production sets REDIS_URL.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Each process's own copy of the hottest entries, a second old at most (config/near_cache.py).
CACHES["near"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "paperboy-near",
    "OPTIONS": {"MAX_ENTRIES": 500},
}

# --- Celery -------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run in-process; nothing is sent to a broker (the host only spares a kombu warning).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Beat reads the periodic tasks from the database (admin → Periodic tasks); the schedule below
# only gives their defaults, installed once (digest/ops/schedules.py). Run exactly one beat.
CELERY_BEAT_SCHEDULER = "config.beat:PaperboyScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True
BEAT_HEARTBEAT_FILE = env.str("BEAT_HEARTBEAT_FILE", default=str(VAR_DIR / "beat-heartbeat"))
CELERY_ENABLE_UTC = True
# Chunk tasks finish in seconds; an unacknowledged task comes back after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=1800),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)

# Healing runs this often (beat): dead claims, quiet unknown outcomes, lost work, a lost dispatch.
DIGEST_HEAL_EVERY_MINUTES = env.int("DIGEST_HEAL_EVERY_MINUTES", default=5)
if not 1 <= DIGEST_HEAL_EVERY_MINUTES <= 30:
    raise ImproperlyConfigured("DIGEST_HEAL_EVERY_MINUTES must be between 1 and 30")

# The one place for schedules. Times are UTC.
CELERY_BEAT_SCHEDULE = {
    # Refresh today and the last HF_REFRESH_DAYS days from Hugging Face five times a day:
    # 05:20, 09:20, 13:20, 17:20, 21:20 UTC.
    "ingest-daily-papers": {
        "task": "digest.tasks.ingest_daily_papers",
        "schedule": crontab(minute=20, hour="5,9,13,17,21"),
    },
    # arXiv announces Sunday to Thursday at 20:00 US Eastern: 00:00 UTC (EDT) or 01:00 UTC (EST),
    # Monday to Friday. Run at 00:40 and 01:40 UTC those days: one of the two comes after the
    # announcement whatever the season; the task fetches the latest one made, and a second
    # run only refreshes it.
    "ingest-arxiv": {
        "task": "digest.tasks.ingest_arxiv_announcement",
        "schedule": crontab(minute=40, hour="0,1", day_of_week="mon-fri"),
    },
    # Every hour on the hour: send digests to readers whose local delivery hour has come.
    "dispatch-due-digests": {
        "task": "digest.tasks.dispatch_due_digests",
        "schedule": crontab(minute=0),
    },
    # Every few minutes: heal what faults left behind (digest.daily.healing), and run the
    # hour's dispatch if a broker or database restart lost it.
    "heal-deliveries": {
        "task": "digest.tasks.heal_deliveries",
        "schedule": crontab(minute=f"*/{DIGEST_HEAL_EVERY_MINUTES}"),
    },
}

# --- Email --------------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="subscriptions.outbox.EmlFileBackend")
EMAIL_OUTBOX_DIR = Path(env.str("EMAIL_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paperboy <hello@paperboy.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Digests and account emails (confirm, manage) may come from different addresses.
DIGEST_FROM_EMAIL = env.str("DIGEST_FROM_EMAIL", default="Paperboy Digest <digest@paperboy.localhost>")
ACCOUNT_FROM_EMAIL = env.str("ACCOUNT_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# Shown in every email footer (CAN-SPAM and friends want a postal address).
POSTAL_ADDRESS = env.str("POSTAL_ADDRESS", default="Paperboy, 1 Example Street, 00000 Example City")
LIST_ID = env.str("LIST_ID", default="Paperboy daily papers <daily.paperboy.localhost>")
# The weekly digest is a list of its own (mail clients filter and unsubscribe by List-Id).
LIST_ID_WEEKLY = env.str("LIST_ID_WEEKLY", default="Paperboy weekly papers <weekly.paperboy.localhost>")

# Every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"], e.g. ANYMAIL_MAILGUN_API_KEY; flags,
# numbers and JSON objects are typed as anymail expects (config/anymail_env.py).
ANYMAIL = anymail_settings(os.environ)
_DEV_WEBHOOK_SECRET = "paperboy:dev-webhook-secret"  # noqa: S105 - dev default, refused in production
ANYMAIL.setdefault("WEBHOOK_SECRET", _DEV_WEBHOOK_SECRET)
if not DEBUG and ANYMAIL["WEBHOOK_SECRET"] == _DEV_WEBHOOK_SECRET:
    raise ImproperlyConfigured("DEBUG is off: set ANYMAIL_WEBHOOK_SECRET (user:password)")

# --- Paperboy -----------------------------------------------------------------

HF_API_BASE = env.str("HF_API_BASE", default="https://huggingface.co").rstrip("/")
HF_API_TIMEOUT = env.float("HF_API_TIMEOUT", default=20.0)
HF_API_RETRIES = env.int("HF_API_RETRIES", default=3)
# Papers per page. The API answers 400 above 100, so a larger value is capped at 100 (with a
# warning from `manage.py check`: paperboy.W001).
HF_API_PAGE_SIZE_LIMIT = 100
HF_API_PAGE_SIZE_WANTED = env.int("HF_API_PAGE_SIZE", default=100)
HF_API_PAGE_SIZE = max(1, min(HF_API_PAGE_SIZE_WANTED, HF_API_PAGE_SIZE_LIMIT))
# Seconds before the first retry of a failed daily-papers request; doubles on each retry.
HF_API_BACKOFF = env.float("HF_API_BACKOFF", default=1.0)
# `ingest_papers` without --date refreshes today and this many days before it (late additions,
# AI summaries that arrive later, upvote growth).
HF_REFRESH_DAYS = env.int("HF_REFRESH_DAYS", default=3)
if not 0 <= HF_REFRESH_DAYS <= 30:
    raise ImproperlyConfigured("HF_REFRESH_DAYS must be 0 to 30")

# arXiv API (Atom query endpoint). arXiv's terms: one request every 3 seconds, one connection.
ARXIV_API_BASE = env.str("ARXIV_API_BASE", default="https://export.arxiv.org").rstrip("/")
ARXIV_CATEGORIES = [
    c.strip()
    for c in env.list(
        "ARXIV_CATEGORIES",
        default=["cs.AI", "cs.CL", "cs.CV", "cs.IR", "cs.LG", "cs.SD", "eess.AS", "stat.ML"],
    )
    if c.strip()
]
ARXIV_API_PAGE_SIZE = env.int("ARXIV_API_PAGE_SIZE", default=500)
ARXIV_API_DELAY = env.float("ARXIV_API_DELAY", default=3.0)
ARXIV_API_TIMEOUT = env.float("ARXIV_API_TIMEOUT", default=30.0)
ARXIV_API_RETRIES = env.int("ARXIV_API_RETRIES", default=4)
ARXIV_API_BACKOFF = env.float("ARXIV_API_BACKOFF", default=5.0)
if not ARXIV_CATEGORIES:
    raise ImproperlyConfigured("ARXIV_CATEGORIES needs at least one category, e.g. cs.CL,cs.LG")
if not 1 <= ARXIV_API_PAGE_SIZE <= 2000:
    raise ImproperlyConfigured("ARXIV_API_PAGE_SIZE must be 1 to 2000 (arXiv's advice for one request)")
if ARXIV_API_DELAY < 3.0:
    raise ImproperlyConfigured("ARXIV_API_DELAY must be at least 3 seconds (arXiv's terms of use)")

# Matching: the labelled papers the matching model learns from (their `tune` part) and that
# evaluate_matching measures on (their `heldout` part); see digest/catalog/learning.py.
# A relative path is relative to the project directory.
MATCHING_LABELLED_SET = BASE_DIR / env.str("MATCHING_LABELLED_SET", default="seeds/eval/papers.jsonl")

# Trending: score = (upvotes + COMMENT_WEIGHT*comments + GROWTH_WEIGHT*growth + 1)
#                   / (age_hours + AGE_OFFSET) ** GRAVITY   (see digest/catalog/trending.py)
TRENDING_GRAVITY = env.float("TRENDING_GRAVITY", default=1.5)
TRENDING_AGE_OFFSET_HOURS = env.float("TRENDING_AGE_OFFSET_HOURS", default=2.0)
TRENDING_COMMENT_WEIGHT = env.float("TRENDING_COMMENT_WEIGHT", default=2.0)
TRENDING_GROWTH_WEIGHT = env.float("TRENDING_GROWTH_WEIGHT", default=1.0)

DIGEST_CHUNK_SIZE = env.int("DIGEST_CHUNK_SIZE", default=500)
# batch: one ESP call per chunk with merge_data; per-message: one message each (SMTP).
DIGEST_SEND_MODE = env.str("DIGEST_SEND_MODE", default="per-message")
if DIGEST_SEND_MODE not in {"batch", "per-message"}:
    raise ImproperlyConfigured("DIGEST_SEND_MODE must be 'batch' or 'per-message'")
# Batch sends: how a per-recipient merge field looks in the ESP's template language
# ("NAME" becomes preferences_url / unsubscribe_url), e.g. "{{NAME}}" or "%recipient.NAME%".
DIGEST_MERGE_FIELD = env.str("DIGEST_MERGE_FIELD", default="{{NAME}}")
# Batch mode: readers with personal editions per ESP call (their cards travel in the merge data).
DIGEST_PERSONAL_BATCH = env.int("DIGEST_PERSONAL_BATCH", default=100)
DIGEST_NO_REPEAT_DAYS = env.int("DIGEST_NO_REPEAT_DAYS", default=14)
DIGEST_MAX_ATTEMPTS = env.int("DIGEST_MAX_ATTEMPTS", default=5)
# Seconds before the first retry of a transient send failure; doubles each time (max 600).
DIGEST_RETRY_BACKOFF = env.int("DIGEST_RETRY_BACKOFF", default=30)
# A send claim's lease: a claim older than this belongs to a dead sender and is healed
# (digest.daily.healing). Must exceed CELERY_TASK_TIME_LIMIT (a system check says so).
DIGEST_STUCK_AFTER_MINUTES = env.int("DIGEST_STUCK_AFTER_MINUTES", default=15)
# A send whose outcome is unknown (maybe sent) waits this long for the ESP's tracking webhook,
# then gets one careful retry.
DIGEST_UNKNOWN_QUIET_MINUTES = env.int("DIGEST_UNKNOWN_QUIET_MINUTES", default=60)
# Queued rows nobody works on (a lost task) are handed out again after this many minutes.
DIGEST_REQUEUE_AFTER_MINUTES = env.int("DIGEST_REQUEUE_AFTER_MINUTES", default=10)
# (DIGEST_HEAL_EVERY_MINUTES, how often healing runs, is set above with the beat schedule.)
# A digest that could not go out (the ESP failing) is retried until this local hour of the
# reader's day (24: until midnight), then marked failed.
DIGEST_GIVE_UP_HOUR = env.int("DIGEST_GIVE_UP_HOUR", default=24)
# Circuit breaker: this many failed ESP calls in a row pause all sending for
# DIGEST_BREAKER_COOLDOWN seconds (doubling after each failed probe, up to 20 times that and
# 10 minutes at most). Any accepted call starts the count again.
DIGEST_BREAKER_FAILURES = env.int("DIGEST_BREAKER_FAILURES", default=5)
DIGEST_BREAKER_COOLDOWN = env.int("DIGEST_BREAKER_COOLDOWN", default=30)
# PostgreSQL: write a chunk's Delivery rows on a second connection while the next chunk is planned.
DIGEST_OVERLAP_WRITES = env.bool("DIGEST_OVERLAP_WRITES", default=True)

SIGNUP_RATE_PER_IP = env.str("SIGNUP_RATE_PER_IP", default="10/h")
SIGNUP_RATE_PER_EMAIL = env.str("SIGNUP_RATE_PER_EMAIL", default="3/h")
CONFIRM_TOKEN_MAX_AGE_DAYS = env.int("CONFIRM_TOKEN_MAX_AGE_DAYS", default=7)

# --- Static files, i18n ---------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security (production) ------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^healthz/$", r"^metrics$"]  # probes and scrapers
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"},
        # One JSON object a line; chunk_id and delivery_id appear on the lines of a send.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "reserved_attrs": [*RESERVED_LOG_ATTRS, "context"],
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Public pages that are the same for everyone (papers, search, the JSON API) are kept this long
# in the cache; any change to papers, matches or topics starts afresh at once. 0 turns it off.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=60)
if not 0 <= PUBLIC_PAGE_CACHE_SECONDS <= 3600:
    raise ImproperlyConfigured("PUBLIC_PAGE_CACHE_SECONDS must be between 0 and 3600")

# /healthz/: answers kept this many seconds; a job whose last success is older than its limit
# makes the service unhealthy (a job that never ran does not).
HEALTH_CACHE_SECONDS = env.int("HEALTH_CACHE_SECONDS", default=5)
HEALTH_INGEST_MAX_AGE_HOURS = env.float("HEALTH_INGEST_MAX_AGE_HOURS", default=26.0)
HEALTH_ARXIV_MAX_AGE_HOURS = env.float("HEALTH_ARXIV_MAX_AGE_HOURS", default=96.0)
HEALTH_DISPATCH_MAX_AGE_MINUTES = env.float("HEALTH_DISPATCH_MAX_AGE_MINUTES", default=90.0)

# /metrics (Prometheus): open to a matching "Authorization: Bearer METRICS_TOKEN", or to peers in
# METRICS_ALLOWED_NETWORKS (default: this host only); figures kept METRICS_CACHE_SECONDS,
# digests counted for the last METRICS_DAYS days.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_CACHE_SECONDS = env.int("METRICS_CACHE_SECONDS", default=30)
METRICS_DAYS = env.int("METRICS_DAYS", default=7)
if not 1 <= METRICS_DAYS <= 90:
    raise ImproperlyConfigured("METRICS_DAYS must be between 1 and 90")

# --- Subscriptions (sign-up sidebar, bounces) ---------------------------------------
# Dotted path of a callable(limit) -> [{title, url, upvotes, topics}] shown beside the sign-up form.
SIGNUP_SIDEBAR_PROVIDER = env.str(
    "SIGNUP_SIDEBAR_PROVIDER", default="digest.web.signup_sidebar.signup_sidebar"
)
# This many soft bounces in a row (no delivery between) suppress a reader like a hard bounce.
SOFT_BOUNCE_LIMIT = env.int("SOFT_BOUNCE_LIMIT", default=3)
