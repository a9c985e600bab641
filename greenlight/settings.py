"""GreenLight settings: everything configurable comes from the environment (django-environ).

A bad or missing required value stops start-up with an ImproperlyConfigured error naming the variable.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured

from greenlight import envcheck

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _typed(name: str, cast, default, **bounds):
    """Read NAME with cast within bounds (minimum=, maximum=, above=); a bad value names the variable."""
    return envcheck.typed(name, cast, default, **bounds)


DEBUG = _typed("DEBUG", bool, False)

SECRET_KEY = envcheck.raw("SECRET_KEY")
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

# DATABASE_URL (or DATABASE_URL_FILE): unknown schemes, bad ports and a path-less sqlite:// are refused.
DATABASES = {
    "default": envcheck.database(
        "DATABASE_URL",
        envcheck.raw("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'greenlight.sqlite3'}",
        environ.Env.DB_SCHEMES,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's web process read while a sync writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

try:
    CACHES = {"default": environ.Env.cache_url_config(envcheck.raw("CACHE_URL") or "locmemcache://greenlight")}
except (ImproperlyConfigured, ValueError, KeyError) as _exc:
    raise ImproperlyConfigured(f"CACHE_URL: {_exc}") from _exc

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
    "USERNAME": envcheck.raw("PW_USERNAME"),
    "PASSWORD": envcheck.raw("PW_PASSWORD"),
    "TIMEOUT": _typed("PW_TIMEOUT", float, 90.0, above=0, maximum=3600),
    "VENDORS_TIMEOUT": _typed("PW_VENDORS_TIMEOUT", float, 300.0, above=0, maximum=3600),
    # true/false, or the path of a CA bundle to trust.
    "VERIFY": env.str("PW_VERIFY", default="true"),
    # 0 = no cap (the benchmarks' set-up runs without limits); a real account allows about 2.
    "MAX_RPS": _typed("PW_MAX_RPS", float, 2.0, minimum=0, maximum=10000),
    "RETRIES": _typed("PW_RETRIES", int, 3, minimum=0, maximum=10),
    "RETRY_MIN_WAIT": _typed("PW_RETRY_MIN_WAIT", float, 1.0, minimum=0, maximum=600),
    "RETRY_MAX_WAIT": _typed("PW_RETRY_MAX_WAIT", float, 30.0, minimum=0, maximum=3600),
    # A paged read that reaches this many pages fails its step (far above real data: a runaway listing).
    "MAX_PAGES": _typed("PW_MAX_PAGES", int, 10000, minimum=1, maximum=1_000_000),
    # The zone PropertyWare reads lastModified filter times in. Bounds are sent as that zone's wall-clock
    # time with its offset, which is the same instant whether PW honours the offset or ignores it and reads
    # the wall clock in its own zone (undocumented for SOAP; PW's REST API states UTC).
    "FILTER_TIME_ZONE": env.str("PW_FILTER_TIME_ZONE", default="UTC"),
}
if PROPERTYWARE["RETRY_MIN_WAIT"] > PROPERTYWARE["RETRY_MAX_WAIT"]:
    raise ImproperlyConfigured("PW_RETRY_MIN_WAIT: must not exceed PW_RETRY_MAX_WAIT")
try:
    ZoneInfo(PROPERTYWARE["FILTER_TIME_ZONE"])
except (ValueError, ZoneInfoNotFoundError) as _exc:
    raise ImproperlyConfigured(
        f"PW_FILTER_TIME_ZONE: {PROPERTYWARE['FILTER_TIME_ZONE']!r} is not an IANA time zone name"
    ) from _exc

# --- ServiceFusion (REST/OAuth) ----------------------------------------------------------------
SERVICEFUSION = {
    "BASE_URL": env.str("SF_BASE_URL", default="https://api.servicefusion.com"),
    "CLIENT_ID": envcheck.raw("SF_CLIENT_ID"),
    "CLIENT_SECRET": envcheck.raw("SF_CLIENT_SECRET"),
    "VERIFY": env.str("SF_VERIFY", default="true"),
    "CONNECT_TIMEOUT": _typed("SF_CONNECT_TIMEOUT", float, 10.0, above=0, maximum=600),
    "READ_TIMEOUT": _typed("SF_READ_TIMEOUT", float, 60.0, above=0, maximum=3600),
    # Optional cap below the server's advertised allowance (requests per minute); 0 = no cap.
    "RATE_LIMIT_CAP": _typed("SF_RATE_LIMIT_CAP", int, 0, minimum=0, maximum=100000),
    "RETRIES": _typed("SF_RETRIES", int, 3, minimum=0, maximum=10),
    # A listing that reaches this many pages fails its step (far above real data: a runaway listing).
    "MAX_PAGES": _typed("SF_MAX_PAGES", int, 10000, minimum=1, maximum=1_000_000),
}

# --- django-q2 --------------------------------------------------------------------------------
REDIS_URL = envcheck.raw("REDIS_URL")
if REDIS_URL and REDIS_URL.split(":", 1)[0] not in ("redis", "rediss", "unix"):
    raise ImproperlyConfigured(f"REDIS_URL: expected redis://, rediss:// or unix://, got {REDIS_URL[:12]!r}…")
Q_CLUSTER = {
    "name": "greenlight",
    "workers": _typed("Q_WORKERS", int, 2, minimum=1, maximum=64),
    # A task must finish before the broker hands it to another worker: timeout < retry.
    "timeout": _typed("Q_TIMEOUT", int, 600, above=0, maximum=86400),
    "retry": _typed("Q_RETRY", int, 720, above=0, maximum=86400),
    "max_attempts": _typed("Q_MAX_ATTEMPTS", int, 3, minimum=1, maximum=100),
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    # Kept per group: the freshness tick's minute-by-minute results must not push the sync runs', the
    # alert checks' and staff-queued tasks' out of the 1000 kept.
    "save_limit_per": "group",
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:
    raise ImproperlyConfigured(
        f"Q_TIMEOUT: must be lower than Q_RETRY ({Q_CLUSTER['timeout']} >= {Q_CLUSTER['retry']})"
    )

# --- Back office -----------------------------------------------------------------------------
# django-import-export: import/export need their own permissions ("import_<model>", "export_<model>"),
# exported cells that start like a formula are escaped, and every import is logged in the admin log.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_USE_TRANSACTIONS = True
# Mapping files above this many rows are imported by a background task; above the cap they are refused.
MAPPING_IMPORT_BACKGROUND_ROWS = _typed("MAPPING_IMPORT_BACKGROUND_ROWS", int, 2000, minimum=1,
                                        maximum=1_000_000)
MAPPING_IMPORT_MAX_ROWS = _typed("MAPPING_IMPORT_MAX_ROWS", int, 20000, minimum=1, maximum=1_000_000)
# Uploads above this many bytes are refused before they are read (an XLSX may expand to 10 times this).
MAPPING_IMPORT_MAX_BYTES = _typed("MAPPING_IMPORT_MAX_BYTES", int, 5 * 1024 * 1024, minimum=1,
                                  maximum=100 * 1024 * 1024)

# --- Observability -----------------------------------------------------------------------------
# /metrics: scrapers send "Authorization: Bearer <METRICS_TOKEN>"; with DEBUG off and no token it answers 403.
METRICS_TOKEN = envcheck.raw("METRICS_TOKEN")
# /health/ details (each check, errors) for holders of this token (or the metrics token) and staff;
# everyone else gets only the status code and "ok" / "unavailable".
HEALTH_TOKEN = envcheck.raw("HEALTH_TOKEN")
for _name, _token in (("METRICS_TOKEN", METRICS_TOKEN), ("HEALTH_TOKEN", HEALTH_TOKEN)):
    if _token and len(_token) < 16:
        raise ImproperlyConfigured(f"{_name}: must be at least 16 characters (a short token is guessable)")
# /health/ fails when the sync has not succeeded in this many scheduled slots in a row …
HEALTH_MISSED_RUNS = _typed("HEALTH_MISSED_RUNS", int, 3, minimum=1, maximum=1000)
# … or, with no sync schedule, for this many seconds (0: not checked without a schedule).
HEALTH_MAX_RUN_AGE = _typed("HEALTH_MAX_RUN_AGE", float, 0.0, minimum=0, maximum=30 * 86400)

LOG_LEVEL = envcheck.choice("LOG_LEVEL", envcheck.LOG_LEVELS, "INFO", upper=True)
# json: one JSON object per line (production, log shippers); plain: a readable line for terminals.
LOG_FORMAT = envcheck.choice("LOG_FORMAT", ("json", "plain"), "plain")
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
    "BATCH_SIZE": _typed("SYNC_BATCH_SIZE", int, 500, minimum=1, maximum=10000),
    # Attempts per outbox row before it becomes a dead letter; backoff between them (seconds), and the
    # longest a sender waits within a run for a retry (later ones wait for the next run).
    "OUTBOX_MAX_ATTEMPTS": _typed("SYNC_OUTBOX_MAX_ATTEMPTS", int, 4, minimum=1, maximum=100),
    "OUTBOX_BACKOFF_BASE": _typed("SYNC_OUTBOX_BACKOFF_BASE", float, 1.0, minimum=0, maximum=3600),
    "OUTBOX_BACKOFF_MAX": _typed("SYNC_OUTBOX_BACKOFF_MAX", float, 300.0, minimum=0, maximum=86400),
    "OUTBOX_WAIT_MAX": _typed("SYNC_OUTBOX_WAIT_MAX", float, 30.0, minimum=0, maximum=3600),
    # Overlap re-read on incremental PropertyWare pulls (seconds): their cursor is our clock at the start
    # of the previous pass and PW stamps lastModified by its own, so this covers clock skew between the
    # two hosts (NTP keeps it to milliseconds) and a write stamped just before our read but committed
    # after it. Everything modified within it is read again on every run, so it stays small.
    "PULL_OVERLAP_SECONDS": _typed("SYNC_PULL_OVERLAP_SECONDS", int, 5, minimum=0, maximum=86400),
    # Overlap for ServiceFusion jobs and invoices (seconds): their cursors follow SF's own clock (the
    # newest updated_at seen), so there is no skew to cover, only a record stamped (to the second) before
    # the newest one we saw but committed after our read: SF stamps and commits within one request, so
    # two seconds is ample, and it keeps the re-read boundary to a page even after a burst of writes.
    "SF_JOBS_OVERLAP_SECONDS": _typed("SYNC_SF_JOBS_OVERLAP_SECONDS", int, 2, minimum=0, maximum=86400),
    # How long the SF customer listing (sf_customer_cache, dim_customer; R11: "cached 1 hour") and the
    # lookup lists (job statuses, categories, techs) stay fresh: incremental runs within it do not list
    # them again; --full always does; 0 lists them on every run (seconds).
    "SF_CUSTOMER_CACHE_SECONDS": _typed("SYNC_SF_CUSTOMER_CACHE_SECONDS", int, 3600, minimum=0,
                                        maximum=7 * 86400),
    "SF_LOOKUP_CACHE_SECONDS": _typed("SYNC_SF_LOOKUP_CACHE_SECONDS", int, 3600, minimum=0,
                                      maximum=7 * 86400),
    # A step failing on the network is run again (R37): attempts, first wait and cap (seconds).
    "STEP_ATTEMPTS": _typed("SYNC_STEP_ATTEMPTS", int, 3, minimum=1, maximum=20),
    "STEP_RETRY_WAIT": _typed("SYNC_STEP_RETRY_WAIT", float, 1.0, minimum=0, maximum=600),
    "STEP_RETRY_MAX": _typed("SYNC_STEP_RETRY_MAX", float, 30.0, minimum=0, maximum=3600),
    # Threads for reads that run in parallel (PostgreSQL only; SQLite runs them one by one).
    "READ_WORKERS": _typed("SYNC_READ_WORKERS", int, 4, minimum=1, maximum=32),
    # Threads writing to PropertyWare at once (PostgreSQL only); all share the client's PW_MAX_RPS cap,
    # so two keep the cap busy while each waits for its call's round trip.
    "PW_WRITE_WORKERS": _typed("SYNC_PW_WRITE_WORKERS", int, 2, minimum=1, maximum=16),
    # A run started by a worker has Q_TIMEOUT less this margin (seconds): then it takes no new work, lets
    # the calls under way finish, commits, ends "partial" and queues its continuation, all before
    # django-q2 kills the task at Q_TIMEOUT. The margin covers the slowest call under way plus the
    # run's closing work.
    "BUDGET_MARGIN": _typed("SYNC_BUDGET_MARGIN", float, 60.0, minimum=0, maximum=86400),
    # Continuations one partial run may queue in a row (a chain stops sooner when a run made no progress).
    "CONTINUATIONS_MAX": _typed("SYNC_CONTINUATIONS_MAX", int, 24, minimum=0, maximum=1000),
}
if SYNC["BUDGET_MARGIN"] >= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured(
        f"SYNC_BUDGET_MARGIN: must be lower than Q_TIMEOUT ({SYNC['BUDGET_MARGIN']:g} >= "
        f"{Q_CLUSTER['timeout']}): a worker's run would have no time left"
    )
for _low, _high in (("OUTBOX_BACKOFF_BASE", "OUTBOX_BACKOFF_MAX"), ("STEP_RETRY_WAIT", "STEP_RETRY_MAX")):
    if SYNC[_low] > SYNC[_high]:
        raise ImproperlyConfigured(f"SYNC_{_low}: must not exceed SYNC_{_high} "
                                   f"({SYNC[_low]} > {SYNC[_high]})")

# --- Alerts (sync/observability/alerts.py) ---------------------------------------------------------
# Comma-separated apprise URLs (mailto://, slack://, msteams://, json://…); empty: alerts are recorded
# in the admin but sent nowhere. Each is checked here so a typo fails start-up, not the first alert.
ALERT_URLS = [u.strip() for u in envcheck.raw("ALERT_URLS").split(",") if u.strip()]
if ALERT_URLS:
    import apprise

    for _url in ALERT_URLS:
        if apprise.Apprise.instantiate(_url) is None:
            _scheme = _url.split("://", 1)[0]
            raise ImproperlyConfigured(f"ALERT_URLS: {_scheme!r}… is not a valid or supported apprise URL")

# --- Security: HTTPS, cookies and login throttling ---------------------------------------------------
# With DEBUG off every protection `check --deploy` asks for is on by default. Behind a proxy that
# terminates TLS, set SECURE_PROXY_SSL_HEADER (e.g. "X-Forwarded-Proto") so Django sees https, or
# switch SECURE_SSL_REDIRECT off when the proxy redirects itself.
_PRODUCTION = not DEBUG
SECURE_SSL_REDIRECT = _typed("SECURE_SSL_REDIRECT", bool, _PRODUCTION)
# Load balancers probe over plain HTTP inside the network; a redirect would read as down.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
SECURE_HSTS_SECONDS = _typed("SECURE_HSTS_SECONDS", int, 31536000 if _PRODUCTION else 0, minimum=0,
                             maximum=2 * 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _typed("SECURE_HSTS_INCLUDE_SUBDOMAINS", bool, True)
SECURE_HSTS_PRELOAD = _typed("SECURE_HSTS_PRELOAD", bool, False)
SESSION_COOKIE_SECURE = _typed("SESSION_COOKIE_SECURE", bool, _PRODUCTION)
CSRF_COOKIE_SECURE = _typed("CSRF_COOKIE_SECURE", bool, _PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
_proxy_header = envcheck.raw("SECURE_PROXY_SSL_HEADER").strip()
if _proxy_header:
    if not all(c.isalnum() or c == "-" for c in _proxy_header):
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER: {_proxy_header!r} is not a header name, "
                                   "e.g. X-Forwarded-Proto")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # Preloading puts the whole registrable domain into browsers' built-in HTTPS-only lists and takes
    # months to undo: the domain's owner opts in with SECURE_HSTS_PRELOAD=true, it is no default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# django-axes: AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that pair out
# for AXES_COOLOFF_MINUTES; a success resets the count. Staff unlock in the admin (Access attempts:
# delete the rows) or with `manage.py axes_reset_username USERNAME` / `axes_reset`.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _typed("AXES_FAILURE_LIMIT", int, 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=_typed("AXES_COOLOFF_MINUTES", int, 15, minimum=1, maximum=7 * 24 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
