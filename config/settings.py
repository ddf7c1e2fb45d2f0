"""Bondport settings: one module, configured only by environment variables.

Every variable read here is documented in .env.example. The embedded default (no variables
set) is the demo: SQLite in var/ and a Celery broker on the filesystem, so `make run` needs no
server. Production sets BONDPORT_ENV=production, which refuses to start without real secrets.
"""

import ipaddress
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env (made by `make run` from .env.example) is read if present; real environment
# variables always win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

BONDPORT_ENV = env.str("BONDPORT_ENV", default="demo")
if BONDPORT_ENV not in {"demo", "production"}:
    raise ImproperlyConfigured("BONDPORT_ENV must be 'demo' or 'production'.")
PRODUCTION = BONDPORT_ENV == "production"

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR.mkdir(exist_ok=True)


# Every secret production runs with (Django's key, the resident-ID key and each callback or
# gateway HMAC key) is at least this long: a short shared key can be guessed offline from one
# captured signed request. Not a setting on purpose: nothing should be able to lower it.
SECRET_MIN_LENGTH = 32


def _local_secret(name: str, *, length: int = 50) -> str:
    """Return a secret kept in var/ for the demo; production must pass it in the environment."""
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment in production "
            f"(at least {SECRET_MIN_LENGTH} characters)."
        )
    import secrets

    path = VAR_DIR / name.lower()
    if not path.exists():
        path.write_text(secrets.token_urlsafe(length))
        path.chmod(0o600)
    return path.read_text().strip()


def _secret(name: str) -> str:
    """A secret from the environment (generated under var/ in the demo). Production refuses to
    start when it is missing or shorter than SECRET_MIN_LENGTH; the message names the
    variable, never its value."""
    value = env.str(name, default="") or _local_secret(name)
    if PRODUCTION and len(value) < SECRET_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{name} is too short for production: at least {SECRET_MIN_LENGTH} characters "
            f"(it has {len(value)})."
        )
    return value


SECRET_KEY = _secret("SECRET_KEY")
# Key for encrypting resident ID numbers and keying their lookup hash (see marketplace).
FIELD_ENCRYPTION_KEY = _secret("FIELD_ENCRYPTION_KEY")

# Sandboxes (the payment provider's pay pages, the sandbox courier, the customs sandbox
# authority) are development parts: in production they are neither mounted nor selectable
# unless this is set to exactly I_UNDERSTAND_NO_REAL_MONEY (a staging node that must take no
# real money); `check --deploy` then warns. Anything else but empty is refused, so a "true"
# typed by habit cannot turn them on by accident.
SANDBOX_CONSENT = "I_UNDERSTAND_NO_REAL_MONEY"
_allow_sandboxes = env.str("ALLOW_SANDBOXES_IN_PRODUCTION", default="")
if _allow_sandboxes not in {"", SANDBOX_CONSENT}:
    raise ImproperlyConfigured(
        f"ALLOW_SANDBOXES_IN_PRODUCTION must be empty or exactly {SANDBOX_CONSENT}."
    )
ALLOW_SANDBOXES_IN_PRODUCTION = PRODUCTION and _allow_sandboxes == SANDBOX_CONSENT
# True where the sandboxes may run: always outside production.
SANDBOXES_ENABLED = not PRODUCTION or ALLOW_SANDBOXES_IN_PRODUCTION
# The adapters that move no real money or goods (checked by name here, and by their
# `sandbox = True` attribute when the apps load, which also catches subclasses).
SANDBOX_ADAPTERS = frozenset(
    {"marketplace.payment_provider.SandboxProvider", "dispatch.courier.SandboxCourier"}
)


def _adapter(name: str, default: str, short_names: dict | None = None) -> str:
    """A provider adapter's dotted path (or its short name); production refuses a sandbox one
    unless allowed."""
    path = env.str(name, default=default)
    path = (short_names or {}).get(path, path)
    if path in SANDBOX_ADAPTERS and not SANDBOXES_ENABLED:
        raise ImproperlyConfigured(
            f"{name} is the sandbox ({path}): nothing real happens behind it. Set {name} to "
            f"your provider's adapter, or ALLOW_SANDBOXES_IN_PRODUCTION={SANDBOX_CONSENT} on a "
            "node that must take no real money."
        )
    return path


def _gateway_url(name: str, default: str) -> str:
    """The customs sandbox is the sandbox authority the default URLs point at: production must
    name the real gateway (unless sandboxes are allowed)."""
    value = env.str(name, default="")
    if not value and not SANDBOXES_ENABLED:
        raise ImproperlyConfigured(
            f"{name} must be set in production: the default is the customs sandbox authority "
            f"({default})."
        )
    return value or default


ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# An expired or blocked form gets the site's own styled, translated page (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Our apps, bottom to top: each may import only the ones above it in this list.
    "bonded",
    "customs",
    "marketplace",
    "pickup",
    "dispatch",
    "supervision",
    "demo",
]

MIDDLEWARE = [
    "config.correlation.CorrelationIdMiddleware",  # first: everything after logs the request id
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.admission.AdmissionMiddleware",  # load shedding (503 + Retry-After), in-flight count
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.csp.csp_nonce",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bondport.sqlite3'}")
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat, sandbox) share one file in the demo: WAL lets
    # readers run beside a writer, and IMMEDIATE takes the write lock at BEGIN so two writers
    # queue instead of failing with "database is locked" halfway through a transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that worker processes started by tests can share it.
    _db["TEST"] = {"NAME": env.str("TEST_SQLITE_PATH", default="") or str(VAR_DIR / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # A health check is a `SELECT 1` round trip at the start of every request that reuses its
    # connection (issue #19: a statement per request for nothing while the database is up).
    # Off: a connection that broke while idle (the database restarted) fails the one request
    # that finds it, and Django closes it after that error; on: no request sees it.
    _db["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
    # "off" trades the last fraction of a second of commits on a PostgreSQL crash (never
    # consistency: a transaction is kept whole or lost whole) for not waiting on fsync at every
    # commit; see bench/README.md for what it buys. Default "on": every commit is on disk.
    _sync = env.str("DB_SYNCHRONOUS_COMMIT", default="on")
    if _sync not in {"on", "off", "local", "remote_write", "remote_apply"}:
        raise ImproperlyConfigured("DB_SYNCHRONOUS_COMMIT must be on, off, local, ...")
    if _sync != "on":
        _db.setdefault("OPTIONS", {})["options"] = f"-c synchronous_commit={_sync}"
    # Server-side binding lets psycopg prepare repeated statements (PostgreSQL then skips
    # planning them). Turn it off behind a transaction-pooling PgBouncer.
    if env.bool("DB_SERVER_SIDE_BINDING", default=True):
        _db.setdefault("OPTIONS", {})["server_side_binding"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by every process: rate limits, worker heartbeat) -------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://bondport_cache")}

# Reference rows read on every placement (locations, risk rules, customs parties, positive
# list, account-book records) are kept per process this many seconds (config/refcache.py): a
# change made elsewhere takes effect within it. 0 reads them from the database every time.
REFERENCE_CACHE_SECONDS = env.int("REFERENCE_CACHE_SECONDS", default=10)
# At most this many entries per process (a TTL cache: keys such as an order's item set come
# from requests, so without a bound the cache grows with the traffic). 0 turns the cache off.
REFERENCE_CACHE_MAX_ENTRIES = env.int("REFERENCE_CACHE_MAX_ENTRIES", default=2048)

# --- Auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Shoppers sign in with their mobile number or username (marketplace.auth); staff too.
AUTHENTICATION_BACKENDS = [
    "marketplace.auth.PhoneOrUsernameBackend",
]
# Web sign-in and registration forms (the API uses AUTH_THROTTLE_RATE): failed sign-ins per
# account name and per client address, registrations refused as probing (ID or mobile already
# registered; sign-ups and typos never count) per address, before a lockout of
# SIGNIN_LOCKOUT_MINUTES (counted in the cache, so every web node agrees).
SIGNIN_MAX_FAILURES = env.int("SIGNIN_MAX_FAILURES", default=5)
SIGNIN_MAX_FAILURES_PER_IP = env.int("SIGNIN_MAX_FAILURES_PER_IP", default=20)
REGISTER_MAX_PER_IP = env.int("REGISTER_MAX_PER_IP", default=10)
SIGNIN_LOCKOUT_MINUTES = env.int("SIGNIN_LOCKOUT_MINUTES", default=15)
LOGIN_URL = "marketplace:login"
LOGIN_REDIRECT_URL = "marketplace:account"
LOGOUT_REDIRECT_URL = "marketplace:home"

# --- Language and time ------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# The business day is the Asia/Shanghai day; everything stored is aware (UTC in the database).
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- Static files (served by WhiteNoise from the project's own install: no CDN) --------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing folder before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
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
# Outside production WhiteNoise also serves straight from the source folders, so a changed CSS
# file shows without another collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default="") or str(VAR_DIR / "media")

# --- Security headers (check --deploy is clean with BONDPORT_ENV=production) --------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict CSP (config/csp.py): nothing from other origins, no inline script, inline <style> only
# with the response's nonce. {nonce} and {form_targets} are filled in per response; empty
# turns the header off.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action {form_targets}; frame-ancestors 'none'"
    ),
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz is polled by load balancers over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Email (console in the demo) -----------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bondport <noreply@bondport.local>")

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's TokenAuthentication, its user and shopper read in one statement and kept per
        # process TOKEN_AUTH_CACHE_SECONDS (issue #19).
        "marketplace.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # Sign-up and sign-in by API are rate limited per client address (cache-backed).
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("AUTH_THROTTLE_RATE", default="20/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bondport API",
    "DESCRIPTION": "Bonded cross-border marketplace: storefront, ledger, customs, pickup.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the pickup-or-delivery choice used by products and checkout.
    "ENUM_NAME_OVERRIDES": {"DeliveryModeEnum": [("pickup", "pickup"), ("delivery", "delivery")]},
    # <id:...> (config/converters.py): a database id, documented as a bounded integer.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999999999999999999}
    },
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env.str("CELERY_FS_BROKER_DIR", default="") or VAR_DIR / "broker")
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder both ways: every process reads and writes the same queue files.
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Far above any task's run time plus retries, so Redis never redelivers a running task.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_PREFETCH", default=4)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Periodic work; each app adds its entries below as it lands. Durable state in the database is
# what guarantees progress: these sweeps catch anything a lost message missed.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "config.tasks.worker_heartbeat", "schedule": 30.0},
    "bonded-expire-reservations": {
        "task": "bonded.tasks.expire_reservations",
        "schedule": 30.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Exactly one beat (config/beatlock.py): on PostgreSQL an advisory lock held by the beat
# process (checked every BEAT_LOCK_CHECK_SECONDS), otherwise an flock on BEAT_LOCK_FILE
# (default: beside the SQLite database file, so the lock is per database as on PostgreSQL).
BEAT_LOCK = env.bool("BEAT_LOCK", default=True)
BEAT_LOCK_CHECK_SECONDS = env.float("BEAT_LOCK_CHECK_SECONDS", default=10.0)
BEAT_LOCK_FILE = env.str("BEAT_LOCK_FILE", default="")

# --- Logging (resident ID numbers are redacted from every record) ---------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one JSON object per line (production's default, for a log shipper); text: for people.
# Both carry the request/task correlation id (config/correlation.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
# One log line per web request (method, path, status, duration_ms, correlation id): on in
# production (gunicorn's own access log is off in deploy/), off in the demo (runserver logs).
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_ids": {"()": "config.logging.RedactResidentIds"},
        "correlation": {"()": "config.correlation.CorrelationIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "text": {
            "()": "config.logging.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s",
        },
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_ids", "correlation"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Tracing (optional OpenTelemetry, config/tracing.py; pip install -e ".[otel]") ----------
# Off unless OTEL_ENABLED or the standard OTEL_EXPORTER_OTLP_ENDPOINT is set; the other
# standard OTEL_EXPORTER_OTLP_* variables configure the exporter.
OTEL_ENABLED = env.bool(
    "OTEL_ENABLED", default=bool(env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default=""))
)
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="bondport")

# --- Bondport --------------------------------------------------------------------------------
# Public URLs printed by `make run` and used in links sent to shoppers.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Bonded ledger ---------------------------------------------------------------------------
# Minutes an unpaid order holds its stock before the beat task frees it.
BONDED_RESERVATION_TTL_MINUTES = env.int("BONDED_RESERVATION_TTL_MINUTES", default=15)
# Below this many available units a balance shows as "low stock" in admin.
BONDED_LOW_STOCK_THRESHOLD = env.int("BONDED_LOW_STOCK_THRESHOLD", default=10)

# --- Customs ---------------------------------------------------------------------------------
# Where declarations go: the customs and CIQ gateways (in the demo: the sandbox authority,
# `python manage.py run_customs_sandbox`). Same HTTP contract as the real gateway.
CUSTOMS_SANDBOX_PORT = env.int("CUSTOMS_SANDBOX_PORT", default=8010)
CUSTOMS_GATEWAY_URL = _gateway_url(
    "CUSTOMS_GATEWAY_URL", f"http://127.0.0.1:{CUSTOMS_SANDBOX_PORT}/customs"
)
CUSTOMS_CIQ_URL = _gateway_url("CUSTOMS_CIQ_URL", f"http://127.0.0.1:{CUSTOMS_SANDBOX_PORT}/ciq")
# Shared HMAC key for requests both ways (our messages, their receipts). Generated in the demo;
# production refuses to start without one of SECRET_MIN_LENGTH characters.
CUSTOMS_GATEWAY_SECRET = _secret("CUSTOMS_GATEWAY_SECRET")
# The adapter that carries messages and verifies the receipts pushed to us
# (verify_receipt_push); a real E-Port transport replaces it by configuration.
CUSTOMS_TRANSPORT = env.str("CUSTOMS_TRANSPORT", default="customs.gateway.HttpTransport")
CUSTOMS_CONNECT_TIMEOUT = env.float("CUSTOMS_CONNECT_TIMEOUT", default=2.0)
CUSTOMS_READ_TIMEOUT = env.float("CUSTOMS_READ_TIMEOUT", default=5.0)
# Records per message (one message may carry a batch of one type).
CUSTOMS_BATCH_SIZE = env.int("CUSTOMS_BATCH_SIZE", default=50)
# Our codes: the platform (sender of every message, ebpCode) and the declaring agent.
CUSTOMS_SENDER_CODE = env.str("CUSTOMS_SENDER_CODE", default="4101260001")
CUSTOMS_AGENT_CODE = env.str("CUSTOMS_AGENT_CODE", default="4101970001")
# Transient failures (timeouts, 5xx) are retried with exponential backoff and jitter.
CUSTOMS_MAX_RETRIES = env.int("CUSTOMS_MAX_RETRIES", default=8)
CUSTOMS_RETRY_BASE_SECONDS = env.float("CUSTOMS_RETRY_BASE_SECONDS", default=2.0)
CUSTOMS_RETRY_BACKOFF_MAX = env.int("CUSTOMS_RETRY_BACKOFF_MAX", default=300)
# Celery task names sent (kwargs order_no, state) when an order's clearance changes.
# Empty by default: the marketplace listens inline (next setting). Set it to
# marketplace.tasks.clearance_changed (and the next one to "") for a task per change.
CUSTOMS_CLEARANCE_LISTENERS = env.list("CUSTOMS_CLEARANCE_LISTENERS", default=[])
# A coalesced task (filing, receipts) started less than this many seconds ago: the next one is
# sent with a countdown to the end of it, so work arriving meanwhile shares one task (issue #19;
# at most one such task per linger, no delay when the pipeline is quiet). 0: off.
TASK_COALESCE_LINGER_SECONDS = env.float("TASK_COALESCE_LINGER_SECONDS", default=0.25)
# Dotted callables (keyword `order_nos`) called in-process once each transaction that changed
# clearances commits, with all their orders: no task per change (issue #19).
CUSTOMS_CLEARANCE_INLINE_LISTENERS = env.list(
    "CUSTOMS_CLEARANCE_INLINE_LISTENERS",
    default=["marketplace.services.clearance.orders_sync_clearance"],
)
# Receipts pushed by the authorities are applied in the request that receives them, once
# stored (issue #19: no task per push); off: one coalesced customs.tasks.receipts_due task
# applies them in a worker. Either way a receipt that fails is left for the task and the sweep.
CUSTOMS_RECEIPTS_APPLY_INLINE = env.bool("CUSTOMS_RECEIPTS_APPLY_INLINE", default=True)
# Platform pre-check (ex-ante and three-order comparison) before anything is filed.
CUSTOMS_PRECHECK = env.bool("CUSTOMS_PRECHECK", default=True)
# Differentiated management: share of a merchant's orders the pre-audit flags for inspection,
# by the merchant's risk grade (A trusted ... D high risk). Format: A=0.005,B=0.02,...
CUSTOMS_INSPECTION_RATE_BY_GRADE = {
    grade: float(rate)
    for grade, rate in env.dict(
        "CUSTOMS_INSPECTION_RATE_BY_GRADE", default={"A": 0.005, "B": 0.02, "C": 0.1, "D": 0.5}
    ).items()
}
# Seconds a worker holds declarations it is sending; after that (e.g. the worker was killed
# mid-send) another push may send them again. 0: twice the timeouts plus 10 s.
CUSTOMS_LEASE_SECONDS = env.float("CUSTOMS_LEASE_SECONDS", default=0)
# Seconds after which a declaration waiting for the gateway counts as stuck for the sweep.
CUSTOMS_STUCK_AFTER_SECONDS = env.int("CUSTOMS_STUCK_AFTER_SECONDS", default=60)
# Failed tries (once per sweep) of putting a scanned-in return back into bond before the return
# is flagged for staff (admin: approved returns, "flagged") instead of retried.
CUSTOMS_RETURN_INTO_BOND_ATTEMPTS = env.int("CUSTOMS_RETURN_INTO_BOND_ATTEMPTS", default=10)
# Seconds without a new receipt after which the sweep asks the authority where an accepted
# declaration stands (status query; re-sent, idempotently by guid, when it does not know it),
# and the spacing of those checks.
CUSTOMS_RECEIPT_OVERDUE_SECONDS = env.int("CUSTOMS_RECEIPT_OVERDUE_SECONDS", default=600)
# Checks without progress after which the declaration is flagged for staff (with the reason).
CUSTOMS_QUERY_MAX_ATTEMPTS = env.int("CUSTOMS_QUERY_MAX_ATTEMPTS", default=5)
# The sandbox authority: its own storage and where it pushes receipts (our signed endpoint).
CUSTOMS_SANDBOX_DB = env.str("CUSTOMS_SANDBOX_DB", default="") or str(
    VAR_DIR / "customs-sandbox.sqlite3"
)
CUSTOMS_SANDBOX_CALLBACK_URL = env.str(
    "CUSTOMS_SANDBOX_CALLBACK_URL", default=f"{SITE_URL}/api/v1/customs/receipts"
)
# --- Customs: the China E-Port exchange (CUSTOMS_TRANSPORT=customs.eport.EPortTransport) ----
# The operator's SM2 key (customs/signer.py): "soft" (a software key: CUSTOMS_SM2_PRIVATE_KEY in
# hex or the file CUSTOMS_SM2_PRIVATE_KEY_FILE; generated under var/eport/ in development) or
# "agent" (a U-Key / IC card signing agent over HTTP at CUSTOMS_SIGNER_AGENT_URL).
CUSTOMS_SIGNER = env.str("CUSTOMS_SIGNER", default="soft")
CUSTOMS_SM2_PRIVATE_KEY = env.str("CUSTOMS_SM2_PRIVATE_KEY", default="")
CUSTOMS_SM2_PRIVATE_KEY_FILE = env.str("CUSTOMS_SM2_PRIVATE_KEY_FILE", default="")
CUSTOMS_SIGNER_CERT_NO = env.str("CUSTOMS_SIGNER_CERT_NO", default="BONDPORT-DEV-0001")
CUSTOMS_SIGNER_CERT_FILE = env.str("CUSTOMS_SIGNER_CERT_FILE", default="")
CUSTOMS_SIGNER_AGENT_URL = env.str("CUSTOMS_SIGNER_AGENT_URL", default="http://127.0.0.1:8012/")
CUSTOMS_SIGNER_AGENT_PASSWORD = env.str("CUSTOMS_SIGNER_AGENT_PASSWORD", default="")
# The E-Port client's exchange folders (absolute, or relative to the project).
CUSTOMS_EPORT_DIR = Path(env.str("CUSTOMS_EPORT_DIR", default=str(VAR_DIR / "eport")))
CUSTOMS_EPORT_OUTBOX = env.str("CUSTOMS_EPORT_OUTBOX", default=str(CUSTOMS_EPORT_DIR / "outbox"))
CUSTOMS_EPORT_INBOX = env.str("CUSTOMS_EPORT_INBOX", default=str(CUSTOMS_EPORT_DIR / "inbox"))
CUSTOMS_EPORT_ARCHIVE = env.str("CUSTOMS_EPORT_ARCHIVE", default=str(CUSTOMS_EPORT_DIR / "archive"))
CUSTOMS_EPORT_QUARANTINE = env.str(
    "CUSTOMS_EPORT_QUARANTINE", default=str(CUSTOMS_EPORT_DIR / "quarantine")
)
# DXP envelope: our DXP id (SenderId) and the receivers of customs and CIQ messages.
CUSTOMS_EPORT_DXP_ID = env.str("CUSTOMS_EPORT_DXP_ID", default="DXPENT0000000001")
CUSTOMS_EPORT_RECEIVER_ID = env.str("CUSTOMS_EPORT_RECEIVER_ID", default="DXPEDCCEB0000002")
CUSTOMS_EPORT_CIQ_RECEIVER_ID = env.str("CUSTOMS_EPORT_CIQ_RECEIVER_ID", default="DXPEDCCIQ0000002")
# An inbox file younger than this may still be being written: it is left for the next run.
CUSTOMS_EPORT_SETTLE_SECONDS = env.float("CUSTOMS_EPORT_SETTLE_SECONDS", default=2.0)
CUSTOMS_EPORT_INBOX_SECONDS = env.float("CUSTOMS_EPORT_INBOX_SECONDS", default=5.0)
# The authority's SM2 public key (x||y hex): receipts and real-time data queries must verify
# under it. In development the stand-in's key (var/eport/standin_sm2.key) is used when empty.
CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY = env.str("CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY", default="")
if PRODUCTION and CUSTOMS_TRANSPORT == "eport" and not CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY:
    raise ImproperlyConfigured(
        "CUSTOMS_TRANSPORT=eport needs CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY in production."
    )
# The stand-in (`manage.py run_eport_standin`): its own SM2 key, and the platform's public key
# it checks our signatures with (derived from our soft key in development when empty).
CUSTOMS_EPORT_STANDIN_PRIVATE_KEY = env.str("CUSTOMS_EPORT_STANDIN_PRIVATE_KEY", default="")
CUSTOMS_EPORT_PLATFORM_PUBLIC_KEY = env.str("CUSTOMS_EPORT_PLATFORM_PUBLIC_KEY", default="")
CUSTOMS_EPORT_STANDIN_PORT = env.int("CUSTOMS_EPORT_STANDIN_PORT", default=8011)
CUSTOMS_EPORT_STANDIN_DB = env.str("CUSTOMS_EPORT_STANDIN_DB", default="") or str(
    VAR_DIR / "eport-standin.sqlite3"
)
# Customs' real-time data request (payment and order authenticity): where the original data
# is uploaded (customs' realTimeDataUpload), and our query endpoint the stand-in calls.
CUSTOMS_REALTIME_UPLOAD_URL = env.str(
    "CUSTOMS_REALTIME_UPLOAD_URL",
    default=f"http://127.0.0.1:{CUSTOMS_EPORT_STANDIN_PORT}/ceb2grab/grab/realTimeDataUpload",
)
# The receiving account named in the uploaded data (recpAccount / recpName).
CUSTOMS_REALTIME_RECP_ACCOUNT = env.str("CUSTOMS_REALTIME_RECP_ACCOUNT", default="")
CUSTOMS_REALTIME_RECP_NAME = env.str("CUSTOMS_REALTIME_RECP_NAME", default="Bondport")
CUSTOMS_REALTIME_QUERY_URL = env.str(
    "CUSTOMS_REALTIME_QUERY_URL", default=f"{SITE_URL}/api/v1/customs/realtime-query"
)
CELERY_TASK_ROUTES = {
    "customs.tasks.receipts_*": {"queue": "customs_receipts"},
    "customs.tasks.*": {"queue": "customs_filing"},
}
CELERY_BEAT_SCHEDULE |= {
    "customs-sweep": {
        "task": "customs.tasks.declarations_sweep",
        "schedule": env.float("CUSTOMS_SWEEP_SECONDS", default=30.0),
    },
    "customs-poll-receipts": {
        "task": "customs.tasks.receipts_poll",
        "schedule": env.float("CUSTOMS_POLL_SECONDS", default=15.0),
    },
    "customs-clearance-days": {
        "task": "customs.tasks.clearance_days_roll_up",
        "schedule": env.float("CUSTOMS_ROLLUP_SECONDS", default=600.0),
    },
    "customs-ex-post-rules": {
        "task": "customs.tasks.ex_post_rules_run",
        "schedule": env.float("CUSTOMS_EX_POST_SECONDS", default=3600.0),
    },
    "customs-realtime-uploads": {
        "task": "customs.tasks.realtime_uploads_pending",
        "schedule": env.float("CUSTOMS_REALTIME_SECONDS", default=30.0),
    },
    "customs-eport-inbox": {
        "task": "customs.tasks.eport_inbox_process",
        "schedule": CUSTOMS_EPORT_INBOX_SECONDS,
    },
}

# --- Marketplace -----------------------------------------------------------------------------
# Customs-registered codes of the parties named in every declaration (DOMAIN.md "Parties").
PLATFORM_EBP_CODE = env.str("PLATFORM_EBP_CODE", default="4101260001")
PLATFORM_NAME = env.str("PLATFORM_NAME", default="Bondport Cross-border E-commerce Platform")
PAYMENT_COMPANY_CODE = env.str("PAYMENT_COMPANY_CODE", default="4101990001")
LOGISTICS_COMPANY_CODE = env.str("LOGISTICS_COMPANY_CODE", default="4101980001")
DECLARING_AGENT_CODE = env.str("DECLARING_AGENT_CODE", default="4101970001")
# Listings per page in the storefront and the API.
CATALOG_PAGE_SIZE = env.int("CATALOG_PAGE_SIZE", default=24)
# Home delivery leaves from this outbound dock (its warehouse's storage holds the stock), at a
# flat freight in CNY.
DELIVERY_DOCK_CODE = env.str("DELIVERY_DOCK_CODE", default="ZZ-DOCK")
DELIVERY_FREIGHT = Decimal(env.str("DELIVERY_FREIGHT", default="10.00"))
# Panels other apps add to the order page: dotted paths to `panel(order, request) -> str`.
ORDER_PAGE_PANELS = env.list(
    "ORDER_PAGE_PANELS",
    default=["pickup.panels.pickup_panel", "dispatch.panels.dispatch_panel"],
)
# What other apps add to the order-status poll's answer once the order is released: dotted
# paths to `extra(order_row: dict) -> dict` (the pickup code; marketplace cannot import pickup).
ORDER_STATUS_EXTRAS = env.list("ORDER_STATUS_EXTRAS", default=["pickup.hooks.order_status_extra"])
# How shoppers get text messages: a class with send(mobile=, text=); the demo prints them.
SMS_SENDER = env.str("SMS_SENDER", default="marketplace.services.notifications.ConsoleSmsSender")
# A clearance the sweep fails to apply is retried by every sweep (its progress mark waits
# before it); after this many failures the order is flagged for staff with the error
# (admin: clearance sync failures) and the sweep goes on past it.
ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS = env.int("ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS", default=5)
CELERY_BEAT_SCHEDULE |= {
    "marketplace-orders-expire": {
        "task": "marketplace.tasks.orders_expire",
        "schedule": env.float("ORDERS_EXPIRE_SECONDS", default=60.0),
    },
    "marketplace-clearances-sweep": {
        "task": "marketplace.tasks.clearances_sweep",
        "schedule": env.float("ORDERS_CLEARANCE_SWEEP_SECONDS", default=30.0),
    },
    "marketplace-refunds-sweep": {
        "task": "marketplace.tasks.refunds_sweep",
        "schedule": env.float("REFUNDS_SWEEP_SECONDS", default=300.0),
    },
    # Supervision dashboard: the O2O journey rolled up per day (like customs-clearance-days).
    "marketplace-journey-days": {
        "task": "marketplace.tasks.journey_days_roll_up",
        "schedule": env.float("CUSTOMS_ROLLUP_SECONDS", default=600.0),
    },
    # This year's quota bands, recomputed before the cached ones (10 minutes) expire.
    "marketplace-quota-bands": {"task": "marketplace.tasks.quota_bands_warm", "schedule": 540.0},
}

# --- Payments --------------------------------------------------------------------------------
# The provider adapter; the demo's sandbox provider is mounted in the web process at
# /sandbox/pay/<token>/ and notifies us asynchronously (Celery) over HTTP.
# The adapter also verifies the provider's notifications (verify_notification). Production
# refuses the sandbox unless ALLOW_SANDBOXES_IN_PRODUCTION says otherwise.
# Short names: sandbox, wechatpay, alipay (or a dotted path to an adapter of your own).
PAYMENT_PROVIDER_NAMES = {
    "sandbox": "marketplace.payment_provider.SandboxProvider",
    "wechatpay": "marketplace.payment_wechat.WeChatPayProvider",
    "alipay": "marketplace.payment_alipay.AlipayProvider",
}
PAYMENT_PROVIDER = _adapter(
    "PAYMENT_PROVIDER", "marketplace.payment_provider.SandboxProvider", PAYMENT_PROVIDER_NAMES
)
PAYMENT_SANDBOX_URL = env.str("PAYMENT_SANDBOX_URL", default=f"{SITE_URL}/sandbox/pay")
# Our endpoint the provider posts signed notifications to.
PAYMENT_NOTIFY_URL = env.str("PAYMENT_NOTIFY_URL", default=f"{SITE_URL}/payments/notify/")
# Shared HMAC-SHA256 key of the notifications. Generated in the demo.
PAYMENT_PROVIDER_SECRET = _secret("PAYMENT_PROVIDER_SECRET")
# Notifications older (or newer) than this many seconds are refused as stale.
PAYMENT_NOTIFY_MAX_AGE_SECONDS = env.int("PAYMENT_NOTIFY_MAX_AGE_SECONDS", default=300)
# The sandbox provider re-sends notifications still unacknowledged after this many seconds
# (as a real provider does), checked as often: a notification lost with the broker is re-sent.
PAYMENT_NOTIFY_SWEEP_SECONDS = env.float("PAYMENT_NOTIFY_SWEEP_SECONDS", default=60.0)
# The stand-ins (make run with a real adapter): their port, the dev key folder, and
# PAYMENT_STANDIN=1 to point the adapters' base URLs at the stand-in by default (development).
PAYMENT_STANDIN_PORT = env.int("PAYMENT_STANDIN_PORT", default=8014)
PAYMENT_STANDIN_KEY_DIR = env.str(
    "PAYMENT_STANDIN_KEY_DIR", default=str(BASE_DIR / "var" / "payment-standin")
)
PAYMENT_STANDIN = SANDBOXES_ENABLED and env.bool("PAYMENT_STANDIN", default=False)
_STANDIN_URL = f"http://127.0.0.1:{PAYMENT_STANDIN_PORT}"
# Where the stand-in files the payment record (CEB411) as the payment company, once it accepted
# a customs declaration (marketplace/standins/customs_filing.py): the customs authority's base
# URL in the sandbox contract (signed with CUSTOMS_GATEWAY_SECRET). Default: the sandbox's
# /customs, the same authority our gateway files with. Empty: the stand-in files nothing.
# With CUSTOMS_TRANSPORT=eport the authority is the one behind the E-Port stand-in (its HTTP
# side takes other parties' messages on /customs/messages, customs/sandbox/eport_http.py).
PAYMENT_STANDIN_CUSTOMS_URL = env.str(
    "PAYMENT_STANDIN_CUSTOMS_URL",
    default=f"http://127.0.0.1:{CUSTOMS_EPORT_STANDIN_PORT}/customs"
    if CUSTOMS_TRANSPORT in ("eport", "customs.eport.EPortTransport")
    else CUSTOMS_GATEWAY_URL,
)
# First retry after this many seconds while the authority is unreachable, doubling up to 60.
PAYMENT_STANDIN_CUSTOMS_RETRY_SECONDS = env.float(
    "PAYMENT_STANDIN_CUSTOMS_RETRY_SECONDS", default=2.0
)
# Development defaults (the stand-ins accept them); production names its own (config/checks.py).
_DEV_PAYMENT_IDS = (
    {
        "WECHATPAY_MCHID": "1900000109",
        "WECHATPAY_APPID": "wxd678efh567hg6787",
        "WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0000000000000000000000000000",
        "ALIPAY_APP_ID": "2021000000000000",
    }
    if SANDBOXES_ENABLED
    else {}
)
# --- WeChat Pay (PAYMENT_PROVIDER=wechatpay; marketplace/payment_wechat.py) ---------------
# Key paths empty on a development node: the stand-in's generated keys (var/payment-standin/).
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default=_DEV_PAYMENT_IDS.get("WECHATPAY_MCHID", ""))
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default=_DEV_PAYMENT_IDS.get("WECHATPAY_APPID", ""))
WECHATPAY_CERT_SERIAL_NO = env.str(
    "WECHATPAY_CERT_SERIAL_NO", default=_DEV_PAYMENT_IDS.get("WECHATPAY_CERT_SERIAL_NO", "")
)
WECHATPAY_PRIVATE_KEY_PATH = env.str("WECHATPAY_PRIVATE_KEY_PATH", default="")  # merchant API key
WECHATPAY_PUBLIC_KEY_ID = env.str(
    "WECHATPAY_PUBLIC_KEY_ID", default=_DEV_PAYMENT_IDS.get("WECHATPAY_PUBLIC_KEY_ID", "")
)
WECHATPAY_PUBLIC_KEY_PATH = env.str("WECHATPAY_PUBLIC_KEY_PATH", default="")  # platform public key
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")  # 32 characters
WECHATPAY_APIV3_KEY_PATH = env.str("WECHATPAY_APIV3_KEY_PATH", default="")  # or in a file
WECHATPAY_BASE_URL = env.str(
    "WECHATPAY_BASE_URL",
    default=_STANDIN_URL if PAYMENT_STANDIN else "https://api.mch.weixin.qq.com",
)
WECHATPAY_CUSTOMS_BASE_URL = env.str(
    "WECHATPAY_CUSTOMS_BASE_URL",
    default=_STANDIN_URL if PAYMENT_STANDIN else "https://apihk.mch.weixin.qq.com",
)
WECHATPAY_CUSTOMS = env.str("WECHATPAY_CUSTOMS", default="ZHENGZHOU_BS")  # WeChat's customs code
WECHATPAY_MERCHANT_CUSTOMS_NO = env.str("WECHATPAY_MERCHANT_CUSTOMS_NO", default=PLATFORM_EBP_CODE)
# --- Alipay (PAYMENT_PROVIDER=alipay; marketplace/payment_alipay.py) -------------------------
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default=_DEV_PAYMENT_IDS.get("ALIPAY_APP_ID", ""))
ALIPAY_APP_PRIVATE_KEY_PATH = env.str("ALIPAY_APP_PRIVATE_KEY_PATH", default="")
ALIPAY_PUBLIC_KEY_PATH = env.str("ALIPAY_PUBLIC_KEY_PATH", default="")  # Alipay's public key
ALIPAY_GATEWAY_URL = env.str(
    "ALIPAY_GATEWAY_URL",
    default=f"{_STANDIN_URL}/gateway.do"
    if PAYMENT_STANDIN
    else "https://openapi.alipay.com/gateway.do",
)
ALIPAY_MERCHANT_CUSTOMS_CODE = env.str("ALIPAY_MERCHANT_CUSTOMS_CODE", default=PLATFORM_EBP_CODE)
ALIPAY_MERCHANT_CUSTOMS_NAME = env.str("ALIPAY_MERCHANT_CUSTOMS_NAME", default="Bondport")
ALIPAY_CUSTOMS_PLACE = env.str("ALIPAY_CUSTOMS_PLACE", default="ZHENGZHOU")  # Alipay's code
# Accepted nonces (notifications, courier callbacks) are kept twice the max age, enough to
# refuse any replay still inside the window; the prune tasks run this often (seconds).
NONCE_PRUNE_SECONDS = env.float("NONCE_PRUNE_SECONDS", default=3600.0)
# Hours an order placement's Idempotency-Key is remembered (a retry comes within minutes).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
CELERY_BEAT_SCHEDULE |= {
    "marketplace-placement-keys-prune": {
        "task": "marketplace.tasks.placement_keys_prune",
        "schedule": 3600.0,
    },
    # A real payment company (WeChat Pay, Alipay) not yet asked to file a paid payment with
    # customs is asked again (a no-op with the sandbox).
    "marketplace-payment-customs-declare-sweep": {
        "task": "marketplace.tasks.payment_customs_declare_sweep",
        "schedule": PAYMENT_NOTIFY_SWEEP_SECONDS,
    },
    "marketplace-notification-nonces-prune": {
        "task": "marketplace.tasks.notification_nonces_prune",
        "schedule": NONCE_PRUNE_SECONDS,
    },
}
if SANDBOXES_ENABLED:
    CELERY_BEAT_SCHEDULE |= {
        "marketplace-sandbox-notify-sweep": {
            "task": "marketplace.tasks.sandbox_notify_sweep",
            "schedule": PAYMENT_NOTIFY_SWEEP_SECONDS,
        },
    }

# --- Pickup ----------------------------------------------------------------------------------
# Days a released pickup order may wait at the counter before staff are told to return it.
PICKUP_DEADLINE_DAYS = env.int("PICKUP_DEADLINE_DAYS", default=7)
# Wrong code or identity entries (per kiosk, per order) before entry locks, and for how long.
PICKUP_MAX_WRONG_TRIES = env.int("PICKUP_MAX_WRONG_TRIES", default=5)
PICKUP_LOCKOUT_MINUTES = env.int("PICKUP_LOCKOUT_MINUTES", default=15)
# Milliseconds between the kiosk's polls of an order's state while the shopper waits.
PICKUP_POLL_MS = env.int("PICKUP_POLL_MS", default=1500)
CELERY_BEAT_SCHEDULE |= {
    "pickup-mark-overdue": {
        "task": "pickup.tasks.pickups_mark_overdue",
        "schedule": env.float("PICKUP_OVERDUE_SWEEP_SECONDS", default=3600.0),
    },
    "pickup-issue-codes": {
        "task": "pickup.tasks.pickup_codes_issue",
        "schedule": env.float("PICKUP_CODES_SWEEP_SECONDS", default=60.0),
    },
}

# --- Dispatch: delivery orders leave the bonded warehouse -------------------------------------
# Released delivery orders should leave within this many hours (source: 24-hour dispatch);
# shipments still in the warehouse this many hours before the deadline show as at risk.
DISPATCH_TARGET_HOURS = env.int("DISPATCH_TARGET_HOURS", default=24)
DISPATCH_AT_RISK_HOURS = env.int("DISPATCH_AT_RISK_HOURS", default=4)
# Our rule: the parcel's measured gross weight may differ from the weight declared on the
# waybill (CEB511) by at most this percentage, or this many kg for very light parcels.
DISPATCH_WEIGHT_TOLERANCE_PERCENT = Decimal(
    env.str("DISPATCH_WEIGHT_TOLERANCE_PERCENT", default="10")
)
DISPATCH_WEIGHT_TOLERANCE_MIN_KG = Decimal(
    env.str("DISPATCH_WEIGHT_TOLERANCE_MIN_KG", default="0.050")
)
# At most this many orders per wave of pick lists.
DISPATCH_WAVE_SIZE = env.int("DISPATCH_WAVE_SIZE", default=20)
# The group whose members (and superusers) may use the warehouse pages.
DISPATCH_OPERATOR_GROUP = env.str("DISPATCH_OPERATOR_GROUP", default="Warehouse operator")
# The courier adapter; the demo's sandbox courier collects parcels and later posts a signed
# delivery callback to COURIER_CALLBACK_URL from a Celery task.
# The adapter also verifies the courier's callbacks (verify_callback). Production refuses the
# sandbox courier unless ALLOW_SANDBOXES_IN_PRODUCTION says otherwise.
COURIER_PROVIDER = _adapter("COURIER_PROVIDER", "dispatch.courier.SandboxCourier")
COURIER_NAME = env.str("COURIER_NAME", default="Bondport Express (sandbox courier)")
COURIER_CALLBACK_URL = env.str("COURIER_CALLBACK_URL", default=f"{SITE_URL}/courier/callback/")
# Shared HMAC-SHA256 secret of the courier's callbacks (generated under var/ in the demo);
# production refuses to start without one of SECRET_MIN_LENGTH characters.
COURIER_CALLBACK_SECRET = _secret("COURIER_CALLBACK_SECRET")
# Callbacks with a timestamp further than this many seconds from now are refused as stale.
COURIER_CALLBACK_MAX_AGE_SECONDS = env.int("COURIER_CALLBACK_MAX_AGE_SECONDS", default=300)
# The sandbox courier reports delivery this many seconds after collecting (0: at once).
COURIER_SANDBOX_DELIVERY_SECONDS = env.float("COURIER_SANDBOX_DELIVERY_SECONDS", default=60.0)
# The courier's customs-registered logistics code: logisticsCode of the waybills it allocates
# and the sender (copCode) of their CEB511/CEB513 filings, with COURIER_NAME as their name.
# Counter pickup orders have no courier: they keep LOGISTICS_COMPANY_CODE, filed by the platform.
COURIER_LOGISTICS_CODE = env.str("COURIER_LOGISTICS_CODE", default=LOGISTICS_COMPANY_CODE)
# The checkout's one call into dispatch: allocate the courier's waybill for a delivery order.
WAYBILL_ALLOCATOR = env.str("WAYBILL_ALLOCATOR", default="dispatch.courier.waybill_allocate")
# Our origin hub's code on the sandbox courier's labels (route 371-755: Zhengzhou to Shenzhen).
COURIER_ORIGIN_CODE = env.str("COURIER_ORIGIN_CODE", default="371")
# The sandbox courier's own waybill range: prefix + 12 digits from this number up.
COURIER_SANDBOX_WAYBILL_PREFIX = env.str("COURIER_SANDBOX_WAYBILL_PREFIX", default="BX")
COURIER_SANDBOX_WAYBILL_START = env.int("COURIER_SANDBOX_WAYBILL_START", default=700000000001)
# Allocated waybills whose order was never placed (the checkout refused) or was cancelled
# before dispatch are given back to the courier after this many seconds (dispatch sweep).
COURIER_WAYBILL_RELEASE_SECONDS = env.int("COURIER_WAYBILL_RELEASE_SECONDS", default=900)
# Parcels dispatched longer ago than this and not yet delivered are asked about with the
# courier's status query (dispatch sweep): a lost callback is caught up.
COURIER_STATUS_QUERY_SECONDS = env.int("COURIER_STATUS_QUERY_SECONDS", default=6 * 3600)
# An open-platform courier (dispatch.courier_openapi.OpenApiCourier, SF Express style): its
# service URL, our partner id (customer code) and the check word both sides sign with.
COURIER_OPENAPI_URL = env.str("COURIER_OPENAPI_URL", default="http://127.0.0.1:8790/std/service")
COURIER_OPENAPI_PARTNER_ID = env.str("COURIER_OPENAPI_PARTNER_ID", default="")
COURIER_OPENAPI_CHECKWORD = env.str("COURIER_OPENAPI_CHECKWORD", default="")
COURIER_OPENAPI_MONTHLY_CARD = env.str("COURIER_OPENAPI_MONTHLY_CARD", default="")
COURIER_OPENAPI_TIMEOUT = env.float("COURIER_OPENAPI_TIMEOUT", default=10.0)
# The sender's address on our open-platform orders (the bonded warehouse's outbound dock).
COURIER_SENDER_ADDRESS = env.str("COURIER_SENDER_ADDRESS", default="河南省郑州市 保税物流中心")
CELERY_BEAT_SCHEDULE |= {
    "dispatch-sweep": {
        "task": "dispatch.tasks.dispatch_sweep",
        "schedule": env.float("DISPATCH_SWEEP_SECONDS", default=30.0),
    },
    "dispatch-courier-nonces-prune": {
        "task": "dispatch.tasks.courier_nonces_prune",
        "schedule": NONCE_PRUNE_SECONDS,
    },
}

# --- Periodic work, all apps -----------------------------------------------------------------
# A periodic run not started within its own interval is dropped (the next one is due by then):
# a sweep slower than its interval under load never piles copies of itself up in the queue
# ahead of the work it sweeps for (measured in the fault proof: 2 s sweeps taking 20 s queued
# behind each other and starved filing). Every entry is an idempotent sweep or heartbeat.
for _entry in CELERY_BEAT_SCHEDULE.values():
    if isinstance(_entry["schedule"], int | float):
        _entry.setdefault("options", {}).setdefault("expires", float(_entry["schedule"]))

# --- Operations: /metrics and the pipeline figures (ops/) ------------------------------------
INSTALLED_APPS += ["ops"]
# First: the request latency histogram times everything below it.
MIDDLEWARE.insert(0, "ops.metrics.RequestMetricsMiddleware")
# /metrics answers only a request carrying `Authorization: Bearer <METRICS_TOKEN>` and/or
# coming from METRICS_ALLOWED_NETWORKS (CIDRs, the direct peer's address); when both are set
# both must hold. Neither set: loopback only in the demo, and not served (404) in production.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if PRODUCTION and METRICS_TOKEN and len(METRICS_TOKEN) < SECRET_MIN_LENGTH:
    raise ImproperlyConfigured(
        f"METRICS_TOKEN must be at least {SECRET_MIN_LENGTH} characters in production."
    )
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
for _cidr in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_cidr!r} is not a CIDR.") from _exc
# A scraper inside the network speaks plain HTTP to the node (like /healthz).
SECURE_REDIRECT_EXEMPT += [r"^metrics$"]
# Paid orders still paid or held after this many minutes count as "not final" (and alert).
METRICS_PAID_NOT_FINAL_MINUTES = env.int("METRICS_PAID_NOT_FINAL_MINUTES", default=30)
# Active reservations expiring within this many minutes count as "about to expire".
METRICS_RESERVATIONS_EXPIRING_MINUTES = env.int("METRICS_RESERVATIONS_EXPIRING_MINUTES", default=5)
# Rejected or blocked declarations count as "failed" for this many hours after they failed.
METRICS_FAILED_WINDOW_HOURS = env.int("METRICS_FAILED_WINDOW_HOURS", default=24)
# Queues whose depth /metrics reports besides the default queue and CELERY_TASK_ROUTES'.
OPS_EXTRA_QUEUES = env.list("OPS_EXTRA_QUEUES", default=[])
# Beat sweeps whose runs and recoveries are counted (ops.SweepTally, shown in /metrics).
OPS_SWEEP_TASKS = env.list(
    "OPS_SWEEP_TASKS",
    default=[
        "bonded.tasks.expire_reservations",
        "customs.tasks.declarations_sweep",
        "marketplace.tasks.clearances_sweep",
        "marketplace.tasks.orders_expire",
        "marketplace.tasks.refunds_sweep",
        "marketplace.tasks.sandbox_notify_sweep",
        "pickup.tasks.pickups_mark_overdue",
        "pickup.tasks.pickup_codes_issue",
        "dispatch.tasks.dispatch_sweep",
    ],
)
# --- The web edge under load (config/admission.py, marketplace/poll.py) ----------------------
# Requests one web process serves at once before it answers 503 + Retry-After (0: no limit).
# gunicorn's gthread worker runs WEB_THREADS at once, so this bites only with more threads.
ADMISSION_MAX_IN_FLIGHT = env.int("ADMISSION_MAX_IN_FLIGHT", default=0)
# Order placements admitted per second over all web nodes (a one-second window in the shared
# cache); past it 503 + Retry-After before the view runs. `manage.py admission_budget N`
# overrides it on every node at run time (config/admission.py).
ADMISSION_EXPENSIVE_RATE = env.int("ADMISSION_EXPENSIVE_RATE", default=0)
ADMISSION_RETRY_AFTER_SECONDS = env.int("ADMISSION_RETRY_AFTER_SECONDS", default=2)
# (path prefix, path suffix) of the budgeted POSTs: the ones that start new work. A payment
# start finishes an admitted order and is not among them (shedding it only wastes the order
# already placed: measured in bench/README.md).
ADMISSION_EXPENSIVE = [
    ("/api/v1/orders/", "/place/"),
    ("/api/v1/kiosk/walkin/", "/orders"),
    ("/checkout/", "/"),
]
# Never shed: callbacks (idempotent, cheap; refusing them only delays orders), health checks,
# static files, the counter's kiosk where a person waits.
ADMISSION_NEVER_SHED = [
    "/payments/notify/",
    "/api/v1/customs/receipts",
    "/healthz",
    "/static/",
    "/api/v1/kiosk/pickups/",
]
# The order-status poll tells the shopper when to ask again (poll_after_ms, Retry-After): this
# base while customs works, times (1 + POLL_LOAD_FACTOR x busy share of this process's
# threads), at most POLL_MAX_MS.
POLL_BASE_MS = env.int("POLL_BASE_MS", default=1000)
POLL_MAX_MS = env.int("POLL_MAX_MS", default=10000)
POLL_LOAD_FACTOR = env.float("POLL_LOAD_FACTOR", default=4.0)
POLL_CAPACITY = env.int("POLL_CAPACITY", default=env.int("WEB_THREADS", default=4))
# A token's user and shopper are kept this many seconds per web process (0: read every time).
# Saving or deleting a token, user or shopper empties this process's entries at once; other
# processes see a revoked token or a deactivated user within this many seconds.
TOKEN_AUTH_CACHE_SECONDS = env.int("TOKEN_AUTH_CACHE_SECONDS", default=10)
# Storefront pages for anonymous visitors kept in the shared cache (marketplace/
# storefront_cache.py): checked on every request against the row versions of their listings,
# items, tax rates and stock (never stale in price or stock); at most this many seconds (0: off).
STOREFRONT_CACHE_SECONDS = env.int("STOREFRONT_CACHE_SECONDS", default=30)
