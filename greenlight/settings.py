"""GreenLight settings: everything configurable comes from the environment (django-environ).

A bad or missing required value stops start-up with an ImproperlyConfigured error naming the variable.
"""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _typed(name: str, cast, default):
    """Read NAME with cast; a malformed value is reported with the variable's name."""
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        if cast is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return cast(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}: cannot read {raw!r} as {cast.__name__}") from exc


DEBUG = _typed("DEBUG", bool, False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: required when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-not-for-production"  # noqa: S105 - development default only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin with GreenLight's site: the dashboard as its index, back-office pages beside it.
    "greenlight.apps.GreenLightAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "simple_history",
    "import_export",
    "warehouse",
    "sync",
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
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "greenlight.urls"

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

WSGI_APPLICATION = "greenlight.wsgi.application"

_db_url = env.str("DATABASE_URL", default="")
if _db_url and _db_url.split(":", 1)[0] not in environ.Env.DB_SCHEMES:
    raise ImproperlyConfigured(
        f"DATABASE_URL: unknown scheme {_db_url.split(':', 1)[0]!r}; use postgres://, sqlite:///, …"
    )
try:
    DATABASES = {
        "default": env.db_url(
            "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'greenlight.sqlite3'}"
        )
    }
except (ImproperlyConfigured, ValueError, KeyError) as exc:  # unknown scheme, malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's web process read while a sync writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://greenlight")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- PropertyWare (SOAP) ---------------------------------------------------------------------
PROPERTYWARE = {
    # Service address; the WSDL's own address is ignored (it names the deployment host).
    "URL": env.str("PW_URL", default="https://app.propertyware.com/pw/services/PWServices"),
    # WSDL location: empty means the copy bundled with the client.
    "WSDL_URL": env.str("PW_WSDL_URL", default=""),
    "USERNAME": env.str("PW_USERNAME", default=""),
    "PASSWORD": env.str("PW_PASSWORD", default=""),
    "TIMEOUT": _typed("PW_TIMEOUT", float, 90.0),
    "VENDORS_TIMEOUT": _typed("PW_VENDORS_TIMEOUT", float, 300.0),
    # true/false, or the path of a CA bundle to trust.
    "VERIFY": env.str("PW_VERIFY", default="true"),
    "MAX_RPS": _typed("PW_MAX_RPS", float, 2.0),
    "RETRIES": _typed("PW_RETRIES", int, 3),
    "RETRY_MIN_WAIT": _typed("PW_RETRY_MIN_WAIT", float, 1.0),
    "RETRY_MAX_WAIT": _typed("PW_RETRY_MAX_WAIT", float, 30.0),
    # A paged read that reaches this many pages fails its step (far above real data: a runaway listing).
    "MAX_PAGES": _typed("PW_MAX_PAGES", int, 10000),
    # The zone PropertyWare reads lastModified filter times in. Bounds are sent as that zone's wall-clock
    # time with its offset, which is the same instant whether PW honours the offset or ignores it and reads
    # the wall clock in its own zone (undocumented for SOAP; PW's REST API states UTC).
    "FILTER_TIME_ZONE": env.str("PW_FILTER_TIME_ZONE", default="UTC"),
}
try:
    ZoneInfo(PROPERTYWARE["FILTER_TIME_ZONE"])
except (ValueError, ZoneInfoNotFoundError) as _exc:
    raise ImproperlyConfigured(
        f"PW_FILTER_TIME_ZONE: {PROPERTYWARE['FILTER_TIME_ZONE']!r} is not an IANA time zone name"
    ) from _exc

# --- ServiceFusion (REST/OAuth) ----------------------------------------------------------------
SERVICEFUSION = {
    "BASE_URL": env.str("SF_BASE_URL", default="https://api.servicefusion.com"),
    "CLIENT_ID": env.str("SF_CLIENT_ID", default=""),
    "CLIENT_SECRET": env.str("SF_CLIENT_SECRET", default=""),
    "VERIFY": env.str("SF_VERIFY", default="true"),
    "CONNECT_TIMEOUT": _typed("SF_CONNECT_TIMEOUT", float, 10.0),
    "READ_TIMEOUT": _typed("SF_READ_TIMEOUT", float, 60.0),
    # Optional cap below the server's advertised allowance (requests per minute); 0 = no cap.
    "RATE_LIMIT_CAP": _typed("SF_RATE_LIMIT_CAP", int, 0),
    "RETRIES": _typed("SF_RETRIES", int, 3),
    # A listing that reaches this many pages fails its step (far above real data: a runaway listing).
    "MAX_PAGES": _typed("SF_MAX_PAGES", int, 10000),
}

# --- django-q2 --------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "greenlight",
    "workers": _typed("Q_WORKERS", int, 2),
    # A task must finish before the broker hands it to another worker: timeout < retry.
    "timeout": _typed("Q_TIMEOUT", int, 600),
    "retry": _typed("Q_RETRY", int, 720),
    "max_attempts": _typed("Q_MAX_ATTEMPTS", int, 3),
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:
    raise ImproperlyConfigured("Q_TIMEOUT: must be lower than Q_RETRY")

# --- Back office -----------------------------------------------------------------------------
# django-import-export: import/export need their own permissions ("import_<model>", "export_<model>"),
# exported cells that start like a formula are escaped, and every import is logged in the admin log.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_USE_TRANSACTIONS = True
# Mapping files above this many rows are imported by a background task; above the cap they are refused.
MAPPING_IMPORT_BACKGROUND_ROWS = _typed("MAPPING_IMPORT_BACKGROUND_ROWS", int, 2000)
MAPPING_IMPORT_MAX_ROWS = _typed("MAPPING_IMPORT_MAX_ROWS", int, 20000)

# --- Observability -----------------------------------------------------------------------------
# /metrics: when set, scrapers must send "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# /health/ fails when the sync has not succeeded in this many scheduled slots in a row …
HEALTH_MISSED_RUNS = _typed("HEALTH_MISSED_RUNS", int, 3)
# … or, with no sync schedule, for this many seconds (0: not checked without a schedule).
HEALTH_MAX_RUN_AGE = _typed("HEALTH_MAX_RUN_AGE", float, 0.0)
if HEALTH_MISSED_RUNS < 1 or HEALTH_MAX_RUN_AGE < 0:
    raise ImproperlyConfigured("HEALTH_MISSED_RUNS must be >= 1 and HEALTH_MAX_RUN_AGE >= 0")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# json: one JSON object per line (production, log shippers); plain: a readable line for terminals.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT: {LOG_FORMAT!r} is not one of json, plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line carries the sync run id and step; credentials are scrubbed before any handler writes.
    "filters": {
        "run_context": {"()": "sync.observability.context.ContextFilter"},
        "secrets": {"()": "sync.observability.scrub.SecretsFilter"},
    },
    "formatters": {
        "plain": {"()": "sync.observability.logformat.PlainFormatter"},
        "json": {"()": "sync.observability.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["run_context", "secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"zeep": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# --- Sync engine --------------------------------------------------------------------------------
SYNC = {
    # Records per committed pull batch (a batch's rows and its cursor commit together).
    "BATCH_SIZE": _typed("SYNC_BATCH_SIZE", int, 500),
    # Attempts per outbox row before it becomes a dead letter; backoff between them (seconds), and the
    # longest a sender waits within a run for a retry (later ones wait for the next run).
    "OUTBOX_MAX_ATTEMPTS": _typed("SYNC_OUTBOX_MAX_ATTEMPTS", int, 4),
    "OUTBOX_BACKOFF_BASE": _typed("SYNC_OUTBOX_BACKOFF_BASE", float, 1.0),
    "OUTBOX_BACKOFF_MAX": _typed("SYNC_OUTBOX_BACKOFF_MAX", float, 300.0),
    "OUTBOX_WAIT_MAX": _typed("SYNC_OUTBOX_WAIT_MAX", float, 30.0),
    # Overlap re-read on incremental PropertyWare pulls (seconds): their cursor is our clock at the start
    # of the previous pass and PW stamps lastModified by its own, so this covers clock skew between the
    # two hosts (NTP keeps it to milliseconds) and a write stamped just before our read but committed
    # after it. Everything modified within it is read again on every run, so it stays small.
    "PULL_OVERLAP_SECONDS": _typed("SYNC_PULL_OVERLAP_SECONDS", int, 5),
    # Overlap for ServiceFusion jobs and invoices (seconds): their cursors follow SF's own clock (the
    # newest updated_at seen), so there is no skew to cover, only a record stamped (to the second) before
    # the newest one we saw but committed after our read: SF stamps and commits within one request, so
    # two seconds is ample, and it keeps the re-read boundary to a page even after a burst of writes.
    "SF_JOBS_OVERLAP_SECONDS": _typed("SYNC_SF_JOBS_OVERLAP_SECONDS", int, 2),
    # How long the SF customer listing (sf_customer_cache, dim_customer; R11: "cached 1 hour") and the
    # lookup lists (job statuses, categories, techs) stay fresh: incremental runs within it do not list
    # them again; --full always does; 0 lists them on every run (seconds).
    "SF_CUSTOMER_CACHE_SECONDS": _typed("SYNC_SF_CUSTOMER_CACHE_SECONDS", int, 3600),
    "SF_LOOKUP_CACHE_SECONDS": _typed("SYNC_SF_LOOKUP_CACHE_SECONDS", int, 3600),
    # A step failing on the network is run again (R37): attempts, first wait and cap (seconds).
    "STEP_ATTEMPTS": _typed("SYNC_STEP_ATTEMPTS", int, 3),
    "STEP_RETRY_WAIT": _typed("SYNC_STEP_RETRY_WAIT", float, 1.0),
    "STEP_RETRY_MAX": _typed("SYNC_STEP_RETRY_MAX", float, 30.0),
    # Threads for reads that run in parallel (PostgreSQL only; SQLite runs them one by one).
    "READ_WORKERS": _typed("SYNC_READ_WORKERS", int, 4),
    # Threads writing to PropertyWare at once (PostgreSQL only); all share the client's PW_MAX_RPS cap,
    # so two keep the cap busy while each waits for its call's round trip.
    "PW_WRITE_WORKERS": _typed("SYNC_PW_WRITE_WORKERS", int, 2),
}
for _name in ("PULL_OVERLAP_SECONDS", "SF_JOBS_OVERLAP_SECONDS", "SF_CUSTOMER_CACHE_SECONDS",
              "SF_LOOKUP_CACHE_SECONDS"):
    if SYNC[_name] < 0:
        raise ImproperlyConfigured(f"SYNC_{_name}: must be >= 0, got {SYNC[_name]}")
