"""Settings, read from the environment (see the README's configuration table).

Defaults suit a developer machine: SQLite, local-memory cache, messages printed to the console.
Production sets DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL and REDIS_URL at least.
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from directory.conf import DirectoryConfig

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SSPR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]
DEBUG = env_bool("DJANGO_DEBUG", False)


def _development_secret_key() -> str:
    """Return a key kept in var/ so that development sessions survive a restart."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# Without DJANGO_SECRET_KEY a development key is used; `check --deploy` refuses that
# (sspr_site.checks), so a production start with `make serve` stops instead.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _development_secret_key()
SECRET_KEY_FROM_ENVIRONMENT = bool(os.environ.get("DJANGO_SECRET_KEY"))

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
# Addresses or networks of the reverse proxies in front of the service; their X-Forwarded-For
# names the client (sspr_site.network). Empty: trust nobody, the connection's address is the
# client's.
SSPR_TRUSTED_PROXIES = env_list("SSPR_TRUSTED_PROXIES")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "phonenumber_field",
    "django_rq",
    "sspr_site.apps.SiteConfig",
    "audit",
    "delivery",
    "methods",
    "methods.authenticator",
    "methods.passkey",
    "methods.recovery_codes",
    "policy",
    "registration",
    "passwordreset",
    "helpdesk",
    "passwords",
    "directory",
    "accesspass",
    "axes",
]

# The authenticator app (methods/authenticator): the name apps show beside the codes, and one
# 30-second step of drift either way, never learned from earlier codes (docs/security.md §37).
OTP_TOTP_ISSUER = os.environ.get("SSPR_TOTP_ISSUER", "Password reset")
OTP_TOTP_SYNC = False
# Stored secrets that must be read back (the authenticator apps' keys) are encrypted with these
# keys (sspr_site.field_keys): comma-separated, newest first; every key listed still decrypts,
# new writes use the first. Empty: derived from the secret key (and SECRET_KEY_FALLBACKS).
SSPR_FIELD_KEYS = env_list("SSPR_FIELD_KEYS")

MIDDLEWARE = [
    # First: probes are answered without the host check, the HTTPS redirect or a session.
    "sspr_site.health.HealthMiddleware",
    # /metrics (from SSPR_METRICS_NETWORKS or with the token), then every request timed and
    # counted, given a request id and logged (sspr_site.metrics, sspr_site.request_log).
    "sspr_site.metrics.MetricsMiddleware",
    "sspr_site.request_log.RequestLogMiddleware",
    # Each request reads the policy once (policy.models.Policy.load).
    "policy.middleware.PolicyPerRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sspr_site.middleware.CrossOriginIsolationMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A kept page's plain reader is answered here, before the rest (sspr_site/kept_pages.py).
    "sspr_site.kept_pages.KeptPageMiddleware",
    # django-csp's, with the settings' policy written once (sspr_site/middleware.py).
    "sspr_site.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # On a GET of /ssprsetup the person is read with their methods, in one query.
    "registration.middleware.PersonWithMethodsMiddleware",
    # An empty 405 (a POST-only address opened with GET, say) becomes the site's own page, in the
    # page's language, with its status and Allow header (sspr_site/method_not_allowed.py).
    "sspr_site.method_not_allowed.MethodNotAllowedPageMiddleware",
    # A directory that cannot be reached, or refuses, gets one clear page wherever it shows.
    "directory.middleware.DirectoryTroubleMiddleware",
    # Every hashing slot taken for too long: a "busy, try again" page (passwords.hashers).
    "passwords.middleware.HasherBusyMiddleware",
    "sspr_site.limits.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sessions opened with a temporary access pass end with it and stay on /ssprsetup/.
    "accesspass.middleware.AccessPassSessionMiddleware",
    "delivery.outbox.DeferredDeliveryMiddleware",
    "registration.middleware.RegistrationInterruptMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sspr_site.urls"
WSGI_APPLICATION = "sspr_site.wsgi.application"
# Form fields drawn from Django's compiled (Jinja2) field templates (sspr_site/form_renderer.py).
FORM_RENDERER = "sspr_site.form_renderer.FormRenderer"

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
                "registration.context_processors.sspr",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# On PostgreSQL, the lookups every request makes are prepared statements of each connection,
# planned once (sspr_site/compiled_query.py). 0 turns that off, for a connection pooler in
# transaction mode that cannot keep a connection's prepared statements.
SSPR_DB_PREPARED_STATEMENTS = os.environ.get("DATABASE_PREPARED_STATEMENTS", "1") != "0"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two requests racing for the same
    # one-time code queue up instead of failing with "database is locked".
    # Write-ahead logging lets readers go on while one request writes, and with it a commit
    # needs no flush to disk (a crash of the site loses nothing; a power cut may lose the last
    # commits). Both are the usual choices for SQLite behind a web site.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if TESTING:
        # A file, not memory: the concurrency tests open several connections to it. One per
        # test run (kept in the environment, so the run's own subprocesses find it): two runs
        # at once on one machine do not share it.
        _test_db = os.environ.setdefault(
            "SSPR_TEST_DB_NAME", str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")
        )
        DATABASES["default"]["TEST"] = {"NAME": _test_db}

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No just-in-time compilation of queries: it pays off for long reports, not for a web
    # page, and the export's query spent most of a second compiling (docs/performance.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if "jit" not in _options.get("options", ""):
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
    if SSPR_DB_PREPARED_STATEMENTS:
        # Django switches psycopg's prepared statements off; the cursor of a query that asks
        # for one (sspr_site/compiled_query.py) needs them on. Django's own cursors bind their
        # values in Python and are never prepared, whatever this says.
        _options.setdefault("prepare_threshold", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis_url = os.environ.get("REDIS_URL", "")
# Seconds a Redis call may take before it fails (requests, the queue's web side, /readyz).
SSPR_CACHE_TIMEOUT = float(os.environ.get("SSPR_CACHE_TIMEOUT", "1"))
_cache_url = os.environ.get("CACHE_URL") or _redis_url
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            # Django's Redis cache with one client per process (sspr_site/redis_cache.py).
            "BACKEND": "sspr_site.redis_cache.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "sspr"),
            # A hung Redis must fail a request (and /readyz) quickly, not hold a worker.
            "OPTIONS": {
                "socket_connect_timeout": SSPR_CACHE_TIMEOUT,
                "socket_timeout": SSPR_CACHE_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How many worker processes serve the site (gunicorn reads the same variable). More than one
# needs the shared cache above: a deploy check refuses otherwise (sspr_site.checks).
SSPR_WEB_WORKERS = int(os.environ.get("WEB_CONCURRENCY") or 1)

# Sessions are read from the cache and written through to the database: a page does not read
# the session table, and a cache that lost its entries loses no session.
SESSION_ENGINE = "sspr_site.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 8
SESSION_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "sspr_site.errors.csrf_failure"

# --- Accounts ---------------------------------------------------------------------------------

# Argon2id with OWASP's recommended cost by default (19 MiB, 2 passes, 1 lane), and at most
# SSPR_CONCURRENT_HASHES hashes at once per process, each holding the memory cost; a request
# waits up to SSPR_HASH_WAIT_SECONDS for a turn, then gets a "busy" page (passwords.hashers,
# docs/performance.md). It keeps the name "argon2", so it also verifies hashes made with other
# parameters (Django's 100 MiB default) and makes them again with these at the next sign-in;
# Django's own Argon2 hasher is not listed, as it would take the name over.
SSPR_ARGON2_TIME_COST = int(os.environ.get("SSPR_ARGON2_TIME_COST", "2"))
SSPR_ARGON2_MEMORY_KIB = int(os.environ.get("SSPR_ARGON2_MEMORY_KIB", "19456"))
SSPR_ARGON2_PARALLELISM = int(os.environ.get("SSPR_ARGON2_PARALLELISM", "1"))
SSPR_CONCURRENT_HASHES = int(os.environ.get("SSPR_CONCURRENT_HASHES", "2"))
SSPR_HASH_WAIT_SECONDS = float(os.environ.get("SSPR_HASH_WAIT_SECONDS", "5"))
PASSWORD_HASHERS = [
    "passwords.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        # Django's, its refusal worded in the site's catalogue (every language has it).
        "NAME": "passwords.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    # At most passwords.validators.MAX_LENGTH characters, like every password field of the site.
    {"NAME": "passwords.validators.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "passwords.validators.BannedWordsValidator"},
    {"NAME": "passwords.validators.PersonalWordsValidator"},
    {"NAME": "passwords.validators.ContactDetailsValidator"},
    {"NAME": "passwords.validators.StrengthValidator", "OPTIONS": {"minimum": 2}},
]

# --- Where accounts live: Django's own table (default) or the organisation's directory --------
# SSPR_DIRECTORY=none|openldap|active_directory and the LDAP_* variables (README, "Directory").
SSPR_DIRECTORY_CONFIG = DirectoryConfig.from_env(os.environ)
SSPR_DIRECTORY = SSPR_DIRECTORY_CONFIG.kind

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses sign-ins for a locked-out username before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Temporary access passes (/ssprsetup/pass/), under the same lockout; never a password.
    "accesspass.backends.AccessPassBackend",
    # Django's password check; the session's person read with a compiled query.
    "sspr_site.auth_backends.PasswordBackend",
]
if SSPR_DIRECTORY_CONFIG.enabled:
    # Passwords are checked by the directory only; permissions granted in the admin still count.
    AUTHENTICATION_BACKENDS[2:] = [
        "directory.backend.DirectoryBackend",
        "directory.backend.PermissionsBackend",
    ]
# Sign-in lockout: 5 failed sign-ins for one username lock it for an hour (or until the person
# unlocks it at /passwordreset/); a success resets the count.
# In directory mode the limit stays below the directory's own lockout threshold, and case
# variants of a name share one count (directory.lockout; docs/security.md §39-40).
SSPR_LOCKOUT_FAILURES = int(os.environ.get("SSPR_LOCKOUT_FAILURES", "5"))
AXES_FAILURE_LIMIT = "directory.lockout.failure_limit"
AXES_USERNAME_CALLABLE = "directory.lockout.axes_username"
AXES_COOLOFF_TIME = float(os.environ.get("SSPR_LOCKOUT_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Abuse from one address is limited separately, with a higher threshold, by the sign-in page
# (registration.views.SignInView): an office behind one address must not be locked out by a
# few colleagues' typos, which an IP lockout at the username threshold would do.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
SSPR_SIGN_IN_FAILURES_PER_IP = int(os.environ.get("SSPR_SIGN_IN_FAILURES_PER_IP", "30"))
AXES_RESET_ON_SUCCESS = True
# A try while the name is locked is refused unchecked and does not count: the lock ends an
# hour after the failure that set it, however often the person tries meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# axes' database handler, each of its deletions one statement (directory/lockout_handler.py).
AXES_HANDLER = "directory.lockout_handler.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "sspr_site.network.client_address"
AXES_LOCKOUT_CALLABLE = "passwordreset.views.locked_out"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "access_pass"]
# Sign-ins are in the audit log (SIGNED_IN), purged with it (purge_audit); django-axes's own
# access log would keep each one's address and browser again, with no purge.
AXES_DISABLE_ACCESS_LOG = True

LOGIN_URL = "registration:signin"
LOGIN_REDIRECT_URL = "registration:overview"
LOGOUT_REDIRECT_URL = "registration:signin"

# --- Language and time ------------------------------------------------------------------------

LANGUAGE_CODE = "en"
# The footer's picker lists these by their own names (README, "Languages"); "ar" is written right
# to left (Django's LANGUAGES_BIDI), and the pages say so with dir="rtl".
LANGUAGES = [
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("it", _("Italian")),
    ("pt-br", _("Brazilian Portuguese")),
    ("nl", _("Dutch")),
    ("pl", _("Polish")),
    ("ja", _("Japanese")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["sspr_site.formats"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", STATIC_ROOT))
if DEBUG or TESTING:
    # Development and tests serve from the app folders; collectstatic is for production only.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
STORAGES = {
    # Private files, never served. Nothing is kept here now (checked contact imports wait in the
    # database, registration/checked_imports.py); the folder is the default a deployment may use.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "private")},
    },
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic); plain files otherwise.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Delivery ---------------------------------------------------------------------------------

# "queue": codes, notices and reminders go through Redis to the RQ worker (`make serve` starts
# it), with retries. "in_process": the web process sends them after the response (development).
SSPR_DELIVERY = os.environ.get("SSPR_DELIVERY") or ("queue" if _redis_url else "in_process")
SSPR_DELIVERY_RETRY_INTERVALS = [
    int(seconds) for seconds in env_list("SSPR_DELIVERY_RETRY_INTERVALS", "10,60,300,900")
]
# A queued message not sent within this many seconds: the code page says so and offers another
# method, and /readyz reports a backlog (delivery.tracking, delivery.checks).
SSPR_DELIVERY_DUE_SECONDS = int(os.environ.get("SSPR_DELIVERY_DUE_SECONDS", "120"))
RQ_QUEUES = {
    "sspr": {
        "URL": _redis_url or "redis://127.0.0.1:6379/0",
        "DEFAULT_TIMEOUT": 120,
    }
}
RQ_SHOW_ADMIN_LINK = False
# Jobs run in the worker's own process, not a fork each (delivery/worker.py). A job is put on
# the queue when it is asked for, also inside a transaction: django-rq's default holds it until
# the transaction commits, and a job asked for as part of a pipeline (delivery.outbox.later)
# was then written to a pipeline already sent, and never queued.
RQ = {"WORKER_CLASS": "delivery.worker.MessageWorker", "COMMIT_MODE": "auto"}

EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = os.environ.get("SSPR_EMAIL_BACKEND", "console")
EMAIL_BACKEND = EMAIL_BACKENDS.get(_email_backend, _email_backend)
EMAIL_FILE_PATH = os.environ.get("SSPR_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Password reset <sspr@localhost>")

SSPR_PHONE_BACKEND = os.environ.get("SSPR_PHONE_BACKEND", "console")
SSPR_PHONE_FILE_PATH = os.environ.get("SSPR_PHONE_FILE_PATH", str(VAR_DIR / "phone"))
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
# Only for tests and staging: send Twilio API calls to another address than Twilio's.
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))

# The address used in every absolute link (emails, notices, reminders); never taken from the
# request's Host header. `make run` sets it from HOST and PORT. By name, not 127.0.0.1: browsers
# refuse an IP address as a passkey's relying party id.
SSPR_SITE_URL = os.environ.get("SSPR_SITE_URL", "http://localhost:8000").rstrip("/")

# Passkeys (methods/passkey): the site's domain as keys know it, and the addresses pages are
# served from. Both follow SSPR_SITE_URL unless set (docs/security.md §38); sspr_site/checks.py
# warns when they cannot work together.
SSPR_WEBAUTHN_RP_ID = os.environ.get("SSPR_WEBAUTHN_RP_ID") or (
    urlsplit(SSPR_SITE_URL).hostname or "localhost"
)
SSPR_WEBAUTHN_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("SSPR_WEBAUTHN_ORIGINS", SSPR_SITE_URL).split(",")
    if origin.strip()
]

PHONENUMBER_DEFAULT_FORMAT = "E164"
# The country preselected beside the phone number field (two letters, e.g. GB); empty for none.
SSPR_DEFAULT_PHONE_REGION = os.environ.get("SSPR_DEFAULT_PHONE_REGION", "").upper()

# --- Security headers -------------------------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
# No inline script anywhere: scripts and styles come from this site's static files only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": with it Chromium sends "Origin: null" on form posts, which CSRF refuses.
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    LANGUAGE_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS.append("security.W021")  # the operator chose not to preload
    if env_bool("DJANGO_BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Audit events older than this are removed by `manage.py purge_audit` (at least 90 days).
SSPR_AUDIT_RETENTION_DAYS = int(os.environ.get("SSPR_AUDIT_RETENTION_DAYS", "400"))

# --- Operations: metrics, request logs, the audit stream, the synthetic reset ------------------
# README, "Metrics, logs and the audit stream". /metrics answers clients in these networks (the
# address as resolved through SSPR_TRUSTED_PROXIES) or with "Authorization: Bearer <token>".
SSPR_METRICS_NETWORKS = env_list("SSPR_METRICS_NETWORKS")
SSPR_METRICS_TOKEN = os.environ.get("SSPR_METRICS_TOKEN", "")
# "json": one JSON object per log line, and one line per request (sspr_site.request_log).
SSPR_LOG_FORMAT = os.environ.get("SSPR_LOG_FORMAT", "plain").strip().lower()
# Every audit event also goes to syslog (udp://host:514 or tcp://host:601, RFC 5424) and/or a
# webhook signed with HMAC-SHA256 (audit.stream).
SSPR_AUDIT_SYSLOG = os.environ.get("SSPR_AUDIT_SYSLOG", "")
SSPR_AUDIT_SYSLOG_FACILITY = int(os.environ.get("SSPR_AUDIT_SYSLOG_FACILITY", "10"))
SSPR_AUDIT_WEBHOOK_URL = os.environ.get("SSPR_AUDIT_WEBHOOK_URL", "")
SSPR_AUDIT_WEBHOOK_SECRET = os.environ.get("SSPR_AUDIT_WEBHOOK_SECRET", "")
SSPR_AUDIT_STREAM_TIMEOUT = float(os.environ.get("SSPR_AUDIT_STREAM_TIMEOUT", "5"))
# `manage.py probe_reset`: the test account it resets, and where its code is read (sspr_site.probe).
SSPR_PROBE_USERNAME = os.environ.get("SSPR_PROBE_USERNAME", "")
SSPR_PROBE_MAILBOX = os.environ.get("SSPR_PROBE_MAILBOX", "")

# --- Logging: ids, kinds and outcomes only (never codes, answers or full numbers) --------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "sspr_site.request_log.JsonFormatter"},
    },
    # A path may carry a token: no line names one (docs/security.md §58).
    "filters": {"paths_hidden": {"()": "sspr_site.request_log.PathsHidden"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if SSPR_LOG_FORMAT == "json" else "plain",
            "filters": ["paths_hidden"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # The twilio client logs request bodies (which hold the code) at INFO.
        "twilio": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
        # The directory sign-in library names the people it looks up at DEBUG; nothing below
        # WARNING from it.
        "django_auth_ldap": {"level": "WARNING"},
    },
}
