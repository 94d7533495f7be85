"""Settings, driven by environment variables (every one is listed in the README).

Unset, the app runs for a newcomer: SQLite under ``var/``, an in-process cache, and Celery
on kombu's filesystem transport. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and
Redis; production differences are variables, not a second settings tree.
"""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MMM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_seconds(name: str, default: str, *, most: float) -> float:
    """A number of seconds from 0 to ``most``; anything else stops start-up, naming the
    variable and the range."""
    raw = os.environ.get(name, default).strip()
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{name} must be a number of seconds from 0 to {most:g} (got {raw!r})."
        )
    return value


def _secret_key() -> str:
    """DJANGO_SECRET_KEY in production; otherwise a random key kept in var/ (never in git)."""
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


TESTING = "pytest" in sys.modules or os.environ.get("MMM_TESTING") == "1"
DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "patients",
    "therapy",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a logged-in user; the login page and static files are exempt.
    "config.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # A query parameter out of range (dates, months, ids): 400 with the accepted range.
    "config.middleware.QueryParamErrorMiddleware",
    # Every API response carrying a patient's data writes the access log (patients.audit).
    "config.middleware.ApiAccessLogMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
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
                "patients.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASE_VENDOR = DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
# The covering indexes of open flags and statuses (INCLUDE columns, for index-only counts
# on PostgreSQL) are plain indexes on SQLite: correct, only not covering. Say nothing then.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASE_VENDOR == "sqlite3" else []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out user before the password check
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failures (django-axes), two limits (README, "Security"):
# * by username AND client address together: 5 failures in 15 minutes lock that name from
#   that address only, so nobody elsewhere can keep a named nurse locked out;
# * by client address alone: 30 failures in 15 minutes (any usernames) lock the address, so
#   one client cannot spray passwords across all usernames. High enough that a ward's
#   workstations behind one NAT address survive their users' typos.
# The per-address limit counts axes' own failure log (``patients.login``).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_CLIENT_FAILURE_LIMIT = int(os.environ.get("AXES_CLIENT_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_RESET_ON_SUCCESS = True
# The client address comes from REMOTE_ADDR only: a client can write any X-Forwarded-For.
# Behind a reverse proxy that sets the header, name it and the number of proxies
# (DJANGO_TRUSTED_PROXY_HEADER=HTTP_X_FORWARDED_FOR, DJANGO_TRUSTED_PROXY_COUNT=1).
TRUSTED_PROXY_HEADER = os.environ.get("DJANGO_TRUSTED_PROXY_HEADER", "")
if TRUSTED_PROXY_HEADER:
    AXES_IPWARE_META_PRECEDENCE_ORDER = (TRUSTED_PROXY_HEADER, "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "1"))
    AXES_IPWARE_PROXY_ORDER = "right-most"
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Idle timeout: the session cookie is renewed on every request and dies after this much
# inactivity (default 15 minutes).
SESSION_IDLE_TIMEOUT_MINUTES = int(os.environ.get("SESSION_IDLE_TIMEOUT_MINUTES", "15"))
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers (secure transport switched on by DJANGO_SECURE=1 behind TLS) ----------
SECURE = env_bool("DJANGO_SECURE")
SECURE_SSL_REDIRECT = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
if env_bool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True

# Content Security Policy: scripts and styles only from this app; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True
# ISO dates and 24-hour times everywhere a date is printed without a format (admin too).
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files: our own, and front-end packages installed from the npm registry --------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/plotly", NODE_MODULES / "plotly.js-dist-min"),
    ("vendor/plotly-css", NODE_MODULES / ".plotly-css"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("DJANGO_MANIFEST_STATIC")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (development, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not env_bool("DJANGO_MANIFEST_STATIC")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Tasks are acknowledged late, so a message a killed worker held comes back to the queue
    # once it has been unacknowledged this long. It must exceed the longest task time limit
    # (300 s) or a slow task would run twice; Redis's default (1 hour) outlived the sweep's
    # expiry, so a killed worker's batches came back only to be discarded as expired.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600")),
        # Look for abandoned messages every few seconds instead of every 100.
        "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
        "unacked_restore_throttle": 1,
    }
else:
    _broker_dir = VAR_DIR / "celery"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = not REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Exactly one beat sends the periodic tasks, however many are started: the others wait for
# the leader's lock (Redis, or a file lock under var/ without Redis). See config/beat.py.
CELERY_BEAT_SCHEDULER = "config.beat:SingleBeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 15
# A queue of their own for the monitoring tasks (evaluate, sweep, batches, notifications),
# so a deployment can give them dedicated workers (`celery worker -Q NAME`). Unset: the
# default queue. Read by config.celery.route_task at send time.
MONITORING_TASK_QUEUE = os.environ.get("MONITORING_TASK_QUEUE") or None
# How long a queued evaluation waits before a worker starts it (Celery countdown), so the
# saves of a busy clinic that arrive meanwhile are evaluated with it as one batch
# (patients.services.evaluations_send). A flag shows this much later; 0 starts at once.
# At most a minute: a flag waits that long, and a task must start well before its marks go
# stale (15 minutes) or it expires (6 hours).
MONITORING_EVALUATION_WINDOW_SECONDS = env_seconds(
    "MONITORING_EVALUATION_WINDOW_SECONDS", "0.5", most=60
)
CELERY_TASK_ROUTES = ("config.celery.route_task",)
from celery.schedules import crontab  # noqa: E402 - beside the only schedule that needs it

CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "patients.tasks.clear_expired_sessions",
        "schedule": 60 * 60,
        "options": {"expires": 30 * 60},
    },
    # Planned courses that started today: the patient becomes active on maintenance.
    "therapy-activate-started-courses": {
        "task": "therapy.tasks.activate_started_courses",
        "schedule": 60 * 60,
        "options": {"expires": 30 * 60},
    },
    # Monitoring: overdue and due-soon CBCs, response labs, pregnancy tests, REMS actions.
    "monitoring-sweep": {
        "task": "monitoring.tasks.sweep",
        "schedule": 30 * 60,
        "options": {"expires": 25 * 60},
    },
    # The safety net: every patient, due or not, nightly; it warns when it changes a flag
    # the incremental sweep above had skipped.
    "monitoring-full-sweep": {
        "task": "monitoring.tasks.sweep",
        "schedule": crontab(hour=2, minute=15),
        "kwargs": {"full": True},
        "options": {"expires": 3 * 60 * 60},
    },
    # Retry notifications whose email failed (each is still sent only once).
    "monitoring-deliver-notifications": {
        "task": "monitoring.tasks.deliver_notifications",
        "schedule": 10 * 60,
        "options": {"expires": 9 * 60},
    },
}

# --- Email: console in development; an SMTP URL-less config in production ----------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "mmm@localhost")

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON with a depth limit and no NUL or unpaired surrogate in any string.
    "DEFAULT_PARSER_CLASSES": [
        "patients.api_fields.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
# API request limits (README, "Security"): answered with a JSON 413/400, never a page.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(256 * 1024)))
API_MAX_JSON_DEPTH = 20
SPECTACULAR_SETTINGS = {
    "TITLE": "Myeloma Maintenance Monitor API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes clinical routes: signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One name for a choice set used by several fields (REMS risk category).
    "ENUM_NAME_OVERRIDES": {"RemsRiskCategoryEnum": "therapy.rems_rules.RiskCategory.CHOICES"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

if TESTING:
    # Fast hashing in tests; production always hashes with Argon2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
