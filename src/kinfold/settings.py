"""Kinfold settings: everything that differs between machines comes from the environment.

Secrets are never committed: ``KINFOLD_SECRET_KEY`` must be set outside debug/test; ``make run``
generates one for the demo under ``var/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("KINFOLD_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("KINFOLD_DEBUG", False)
SECRET_KEY = os.environ.get("KINFOLD_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or os.environ.get("KINFOLD_TESTING") or os.environ.get("PYTEST_VERSION"):
        SECRET_KEY = "insecure-only-for-tests-and-debug"  # noqa: S105 - never used when DEBUG is off
    else:
        raise ImproperlyConfigured("Set KINFOLD_SECRET_KEY (make run generates one under var/).")

ALLOWED_HOSTS = env_list("KINFOLD_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("KINFOLD_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "kinfold.audit",
    "kinfold.organizations",
    "kinfold.families",
    "kinfold.notes",
    "kinfold.consent",
    "kinfold.directory",
    "kinfold.referrals",
    "kinfold.screening",
    "kinfold.pathways",
    "kinfold.parentmode",
    "kinfold.staff",
    "kinfold.web",
    "kinfold.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kinfold.web.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The second sign-in step (kinfold.staff): until it is passed, every page leads to it.
    "kinfold.staff.middleware.SecondFactorMiddleware",
    "kinfold.audit.middleware.AuditContextMiddleware",
    "kinfold.referrals.context_processors.NoticeCountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Parent mode (the tablet in her hands): only its own pages, and its own shorter idle sign-out, read first.
    "kinfold.parentmode.middleware.ParentModeMiddleware",
    "kinfold.web.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kinfold.web.middleware.OutOfRangeIdMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kinfold.urls"
WSGI_APPLICATION = "kinfold.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kinfold.web.context_processors.kinfold",
                "kinfold.referrals.context_processors.referral_notices",
            ],
        },
    },
    {
        # Only the templates that render many rows a request (each app's ``jinja2/`` folder): see kinfold.web.jinja.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "kinfold.web.jinja.environment"},
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("KINFOLD_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kinfold.sqlite3'}",
        # Tests close every connection at once: the live server answers each request in a new thread,
        # and a persistent connection left in a finished thread would keep the test database open.
        conn_max_age=int(os.environ.get("KINFOLD_DB_CONN_MAX_AGE", "0" if os.environ.get("PYTEST_VERSION") else "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    }
# The pages' fixed statements (``kinfold.prepared``) are prepared on the PostgreSQL server, planned once per
# connection. Set KINFOLD_DB_PREPARED_STATEMENTS=0 behind a pooler in transaction mode (PgBouncer before 1.21).
DB_PREPARED_STATEMENTS = env_bool("KINFOLD_DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_PREPARED_STATEMENTS:
    # psycopg prepares only the statements a cursor asks it to (``prepared_cursor``): Django's own cursors bind on
    # the client and never prepare (Django leaves the threshold unset, which turns preparing off altogether).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "kinfold.staff.backends.StaffBackend",  # Django's ModelBackend, her membership read with her
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"

# Multi-factor sign-in (kinfold.staff): every staff account gives a code from an authenticator app (or a
# recovery code) after her password. On by default; `make run` turns it off for the demo's logins, and the test
# suite starts with it off (the tests of the second step turn it on).
KINFOLD_REQUIRE_MFA = env_bool(
    "KINFOLD_REQUIRE_MFA", not (os.environ.get("KINFOLD_TESTING") or os.environ.get("PYTEST_VERSION"))
)
OTP_TOTP_ISSUER = os.environ.get("KINFOLD_OTP_ISSUER", "Kinfold")
# A password-reset link works once, for this many hours (2 by default).
PASSWORD_RESET_TIMEOUT = int(float(os.environ.get("KINFOLD_PASSWORD_RESET_HOURS", "2")) * 3600)
# An invitation to join an organisation works once, for this many days (7 by default).
KINFOLD_INVITATION_DAYS = int(os.environ.get("KINFOLD_INVITATION_DAYS", "7"))
LOGIN_REDIRECT_URL = "families:caseload"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after KINFOLD_IDLE_MINUTES without a request (15 by default).
IDLE_TIMEOUT_MINUTES = int(os.environ.get("KINFOLD_IDLE_MINUTES", "15"))
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60

# Parent mode ends, and signs the staff member out, after this many seconds without a request (5 minutes).
KINFOLD_PARENT_MODE_IDLE_SECONDS = int(os.environ.get("KINFOLD_PARENT_MODE_IDLE_SECONDS", "300"))

# Consent and access (docs/consent.md). Where state law lets minors consent to SUD treatment (42 CFR 2.14),
# a parent under 18 signs her consents alone; elsewhere set this off and her guardian signs too.
KINFOLD_MINOR_MAY_CONSENT_ALONE = env_bool("KINFOLD_MINOR_MAY_CONSENT_ALONE", True)
# How long a clinician's declared medical emergency (break-the-glass) lasts.
KINFOLD_EMERGENCY_ACCESS_HOURS = float(os.environ.get("KINFOLD_EMERGENCY_ACCESS_HOURS", "4"))
# A consent that would end further out than this many days (5 years) is saved only once the person recording
# it ticks a box to confirm the date: a century-long consent is almost always a typo in the year.
KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS = int(os.environ.get("KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS", "1826"))
# A session is written when it changes, not on every request: the idle sign-out's clock is written at most every
# 30 seconds (kinfold.web.middleware.IDLE_STAMP_SECONDS), and each write moves the session's end 15 minutes on.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_COOKIES = env_bool("KINFOLD_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = int(os.environ.get("KINFOLD_HSTS_SECONDS", "0"))

# Lock-out after repeated failures (django-axes): per username and address.
AXES_FAILURE_LIMIT = int(os.environ.get("KINFOLD_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("KINFOLD_LOCKOUT_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Reset only once she is fully signed in (password and second factor): see kinfold.staff.mfa.signed_in.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = os.environ.get("KINFOLD_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True
# Kinfold's own Spanish words (parent mode's pages): `make messages` compiles them.
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The audit sealer (`kinfold audit seal --follow`, started by `make run` and `make serve`) chains new audit events
# this often: requests append their events without waiting on one another, and the chain follows seconds later.
KINFOLD_AUDIT_SEAL_SECONDS = float(os.environ.get("KINFOLD_AUDIT_SEAL_SECONDS", "2"))

EMAIL_HOST = os.environ.get("KINFOLD_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("KINFOLD_EMAIL_PORT", "1025"))
DEFAULT_FROM_EMAIL = os.environ.get("KINFOLD_FROM_EMAIL", "kinfold@localhost")
# Where people reach this Kinfold: links in emails (a referral's one-time link) start with it.
KINFOLD_SITE_URL = os.environ.get("KINFOLD_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# How long a referral's one-time link works (days).
KINFOLD_REFERRAL_LINK_DAYS = int(os.environ.get("KINFOLD_REFERRAL_LINK_DAYS", "14"))
# How long a screening's one-time link (sent to the parent's phone) works (days); it also dies once she submits.
KINFOLD_SCREENING_LINK_DAYS = int(os.environ.get("KINFOLD_SCREENING_LINK_DAYS", "3"))
# More screening instrument files (an organisation's licensed instruments), directories separated by ":".
KINFOLD_SCREENING_INSTRUMENT_DIRS = [p for p in os.environ.get("KINFOLD_SCREENING_INSTRUMENT_DIRS", "").split(":") if p]
# More pathway files (a county's adapted copies), directories separated by ":".
KINFOLD_PATHWAY_DIRS = [p for p in os.environ.get("KINFOLD_PATHWAY_DIRS", "").split(":") if p]
# Days a pathway step may be overdue before the enrolling organisation's supervisors are told (once).
KINFOLD_PATHWAY_GRACE_DAYS = int(os.environ.get("KINFOLD_PATHWAY_GRACE_DAYS", "3"))
# What this jurisdiction's CAPTA notification to child welfare about an infant with prenatal substance exposure
# is: "notification" (not a report of abuse or neglect) or "report".
KINFOLD_POSC_NOTIFICATION = os.environ.get("KINFOLD_POSC_NOTIFICATION", "notification")

# A routine denial (a 403 refusal, a 404 from the door) is one line in the log; a real error (5xx) keeps its
# traceback. The audit trail, not the log, records who was refused what.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"denials_on_one_line": {"()": "kinfold.web.request_log.DenialsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["denials_on_one_line"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("KINFOLD_LOG_LEVEL", "WARNING")},
}

KINFOLD_CASELOAD_PAGE_SIZE = 25
