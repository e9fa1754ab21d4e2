"""Settings, read from the environment (12-factor).

With no DATABASE_URL the app runs on a SQLite file under var/; with no REDIS_URL the live-update
bus is in-process and the cache is local memory. Production adds hindsight.settings_production.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from hindsight.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("HINDSIGHT_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DJANGO_DEBUG", False)
SECRET_KEY = envstr("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "simple_history",
    "axes",
    "mozilla_django_oidc",
    "ninja",
    "kernel",
    "incidents",
    "postmortems",
    "premortems",
    "actions",
    "dashboard",
    "api",
    "insights",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hindsight.middleware.IdleSessionMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hindsight.middleware.ViewerTimezoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hindsight.urls"
ASGI_APPLICATION = "hindsight.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.csp",
            ],
            "builtins": ["kernel.templatetags.blocks", "django.templatetags.tz"],
        },
    }
]

DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "hindsight.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envbool(
    "DATABASE_POOL", False
):
    # Under ASGI a persistent connection per thread leaks; a pool is the supported way to reuse.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 10}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sign-in. django-axes comes first: it refuses any attempt while a name or an address is locked
# out, before a password is hashed. Single sign-on joins when OIDC_RP_CLIENT_ID is set.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "incidents.sign_in.PasswordBackend",
]
# "false" hides the password form and refuses password sign-ins (single sign-on only).
HINDSIGHT_PASSWORD_LOGIN = envbool("HINDSIGHT_PASSWORD_LOGIN", True)

# A session ends after this many minutes without the person doing anything (open pages that
# only listen for changes do not count as doing something).
HINDSIGHT_SESSION_IDLE_MINUTES = envint("HINDSIGHT_SESSION_IDLE_MINUTES", 480)
SESSION_COOKIE_AGE = HINDSIGHT_SESSION_IDLE_MINUTES * 60

# Login throttling (django-axes): after HINDSIGHT_LOGIN_FAILURE_LIMIT wrong passwords for one
# username, or from one address, sign-in is refused for HINDSIGHT_LOGIN_COOLOFF_MINUTES.
# An admin lifts a lock-out early under Axes > Access attempts, or `manage.py axes_reset`.
AXES_FAILURE_LIMIT = envint("HINDSIGHT_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("HINDSIGHT_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Tries while locked out do not restart the cool-off, so "try again in N minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "incidents.sign_in.locked_out"
# Masked in what axes logs and stores of a failed request (passwords always are).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken", "code", "state"]
# The address is REMOTE_ADDR, which uvicorn --proxy-headers takes from the trusted proxy.

# OpenID Connect single sign-on (mozilla-django-oidc), on when OIDC_RP_CLIENT_ID is set.
OIDC_RP_CLIENT_ID = envstr("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = envstr("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = envstr("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = envstr("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = envstr("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = envstr("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = envstr("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = envbool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = envint("OIDC_TIMEOUT_SECONDS", 10)
# The button says "Sign in with <this>".
OIDC_PROVIDER_NAME = envstr("OIDC_PROVIDER_NAME", "single sign-on")
# The claim listing a person's groups; a group named like a team (its slug or name) makes the
# person a member; OIDC_ADMIN_GROUP makes them an admin, OIDC_VIEWER_GROUP a read-only viewer.
OIDC_TEAMS_CLAIM = envstr("OIDC_TEAMS_CLAIM", "groups")
OIDC_ADMIN_GROUP = envstr("OIDC_ADMIN_GROUP")
OIDC_VIEWER_GROUP = envstr("OIDC_VIEWER_GROUP")
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("incidents.sign_in.SingleSignOnBackend")

# Content-Security-Policy, enforced: scripts only from our own origin or with this response's
# nonce, no inline event handlers, no eval, no inline styles, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = envstr("HINDSIGHT_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise warns on every start when the collected-static folder does not exist yet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG


def image_storage() -> dict:
    """Where graphs and screenshots pasted into postmortems are kept.

    With HINDSIGHT_IMAGES_S3_BUCKET, an S3-compatible bucket (django-storages; credentials from
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the instance's role). The bucket stays private:
    images are only ever served through Hindsight, which asks who may see the incident, never
    by a bucket URL. Otherwise files under var/images.
    """
    bucket = envstr("HINDSIGHT_IMAGES_S3_BUCKET")
    if not bucket:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(VAR_DIR / "images"), "base_url": "/no-public-url/"},
        }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": envstr("HINDSIGHT_IMAGES_S3_ENDPOINT") or None,
            "region_name": envstr("HINDSIGHT_IMAGES_S3_REGION") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "images": image_storage(),
}
# Graphs and screenshots: the largest file taken, and the most pixels a file may unpack to
# (a small file can hold a huge image, meant to exhaust memory when it is opened).
HINDSIGHT_IMAGE_MAX_BYTES = envint("HINDSIGHT_IMAGE_MAX_BYTES", 8 * 1024 * 1024)
HINDSIGHT_IMAGE_MAX_PIXELS = envint("HINDSIGHT_IMAGE_MAX_PIXELS", 40_000_000)

# Requests with a body larger than this are refused before a view sees them (uploaded files
# are not counted: the image upload checks its own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


def mailers(backend: str) -> dict:
    """The default mailer; SMTP reads its server from EMAIL_HOST, EMAIL_PORT and the rest."""
    default: dict = {"BACKEND": backend}
    if backend.endswith("smtp.EmailBackend"):
        default["OPTIONS"] = {
            "host": envstr("EMAIL_HOST", "localhost"),
            "port": envint("EMAIL_PORT", 587),
            "username": envstr("EMAIL_HOST_USER"),
            "password": envstr("EMAIL_HOST_PASSWORD"),
            "use_tls": envbool("EMAIL_USE_TLS", True),
        }
    return {"default": default}


# Development prints mail to the console; hindsight.settings_production defaults to SMTP.
MAILERS = mailers(envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"))
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Hindsight <hindsight@localhost>")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TIMEZONE = TIME_ZONE

# Hours after an incident is resolved by which its postmortem should be written.
HINDSIGHT_POSTMORTEM_DUE_HOURS = envint("HINDSIGHT_POSTMORTEM_DUE_HOURS", 48)

# Where a published postmortem's summary is e-mailed (comma-separated; usually one list address).
HINDSIGHT_SUMMARY_EMAILS = envlist("HINDSIGHT_SUMMARY_EMAILS")
# The address people reach Hindsight at, for links in e-mail and Slack (no trailing slash).
HINDSIGHT_BASE_URL = envstr("HINDSIGHT_BASE_URL")
# Debian's Chromium prints the PDF export; without it the PDF download says so instead.
HINDSIGHT_CHROMIUM = envstr("HINDSIGHT_CHROMIUM", "/usr/bin/chromium")
# The PDF's paper: "A4", "Letter", or empty to follow the reader's browser language (Letter for
# the Americas that use it, A4 everywhere else).
HINDSIGHT_PDF_PAPER = envstr("HINDSIGHT_PDF_PAPER", "")
if HINDSIGHT_PDF_PAPER not in ("", "A4", "Letter"):
    raise ImproperlyConfigured(
        f"HINDSIGHT_PDF_PAPER must be A4, Letter or empty, not {HINDSIGHT_PDF_PAPER!r}"
    )
# How often a stakeholder page left open looks for changes, in seconds.
HINDSIGHT_READER_REFRESH_SECONDS = envint("HINDSIGHT_READER_REFRESH_SECONDS", 20)

# Caps, counted across every server process through Redis (README, "Limits"). Past a cap the
# request gets a 429 in words with a Retry-After.
# Open event streams per signed-in person (all their tabs) and per stakeholder link.
HINDSIGHT_STREAMS_PER_USER = envint("HINDSIGHT_STREAMS_PER_USER", 20)
HINDSIGHT_STREAMS_PER_LINK = envint("HINDSIGHT_STREAMS_PER_LINK", 100)
# Pages one person may be shown on in the presence lists at once (all documents).
HINDSIGHT_PRESENCE_PER_USER = envint("HINDSIGHT_PRESENCE_PER_USER", 20)
# PDF exports per person per window, and Chromium renders running at once in the deployment.
HINDSIGHT_PDF_EXPORTS_PER_USER = envint("HINDSIGHT_PDF_EXPORTS_PER_USER", 10)
HINDSIGHT_PDF_EXPORT_WINDOW_SECONDS = envint("HINDSIGHT_PDF_EXPORT_WINDOW_SECONDS", 600)
HINDSIGHT_PDF_RENDERS = envint("HINDSIGHT_PDF_RENDERS", 2)
# How long an export waits for a free render before it is told the server is busy.
HINDSIGHT_PDF_WAIT_SECONDS = envint("HINDSIGHT_PDF_WAIT_SECONDS", 20)
# Events waiting for one slow reader: past this its stream ends, and the page reconnects and
# catches up from its last event instead of the server holding them.
HINDSIGHT_STREAM_QUEUE_EVENTS = envint("HINDSIGHT_STREAM_QUEUE_EVENTS", 200)
# The same in bytes (events carry rendered HTML, tens of KiB each): hundreds of slow readers
# cannot hold hundreds of MiB between them.
HINDSIGHT_STREAM_QUEUE_BYTES = envint("HINDSIGHT_STREAM_QUEUE_BYTES", 4 * 1024 * 1024)

# Reminders about overdue action items ("nags"): the daily run's hour, and the time zone that
# hour and "overdue" are read in; how often an item reminds (a team can choose its own) and
# after how many reminders the lead is copied.
HINDSIGHT_NAG_HOUR = envint("HINDSIGHT_NAG_HOUR", 9)
HINDSIGHT_NAG_TIME_ZONE = envstr("HINDSIGHT_NAG_TIME_ZONE", TIME_ZONE)
HINDSIGHT_NAG_EVERY_DAYS = envint("HINDSIGHT_NAG_EVERY_DAYS", 7)
HINDSIGHT_NAG_ESCALATE_AFTER = envint("HINDSIGHT_NAG_ESCALATE_AFTER", 3)

# Every message going out (reminders, summaries): how often a failing channel is tried, waiting
# HINDSIGHT_DELIVERY_RETRY_SECONDS after the first failure and doubling each time.
HINDSIGHT_DELIVERY_ATTEMPTS = envint("HINDSIGHT_DELIVERY_ATTEMPTS", 4)
HINDSIGHT_DELIVERY_RETRY_SECONDS = envint("HINDSIGHT_DELIVERY_RETRY_SECONDS", 30)

# A team's Slack webhook must be https to one of these hosts (comma-separated).
HINDSIGHT_SLACK_HOSTS = envlist("HINDSIGHT_SLACK_HOSTS", "hooks.slack.com")
# Only the test suite turns this on, for its Slack stand-in on 127.0.0.1 over plain http.
HINDSIGHT_SLACK_ALLOW_LOCAL_TEST_SERVER = False

# Share-link tokens are redacted from every request line written to a log: uvicorn's access
# log, Django's request warnings ("Not Found: /s/...") and runserver's log.

# How far back "seen before" looks for earlier incidents sharing a service or a cause category.
HINDSIGHT_RECURRENCE_DAYS = envint("HINDSIGHT_RECURRENCE_DAYS", 90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_share_tokens": {"()": "hindsight.logs.RedactShareTokens"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_share_tokens"],
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "stream": "ext://sys.stdout",
            "filters": ["redact_share_tokens"],
        },
    },
    "loggers": {
        "uvicorn.access": {
            "handlers": ["access"],
            "filters": ["redact_share_tokens"],
            "level": "INFO",
            "propagate": False,
        },
        "django.request": {"filters": ["redact_share_tokens"]},
        # Axes says "Deleted 0 failed login attempts" at INFO on every sign-in: lock-outs and
        # warnings are what an operator needs from it.
        "axes": {"level": "WARNING"},
        "django.server": {
            "handlers": ["console"],
            "filters": ["redact_share_tokens"],
            "level": "INFO",
            "propagate": False,
        },
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}

# A team's outbound webhooks must be https to a public address; only the test suite turns this
# on, for its receivers on 127.0.0.1 over plain http.
HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER = False

# The Fernet key that encrypts secrets stored in the database (tracker tokens); see
# kernel/crypto.py. Derived from SECRET_KEY when unset.
HINDSIGHT_ENCRYPTION_KEY = envstr("HINDSIGHT_ENCRYPTION_KEY")
# Ticket trackers must be https at a public address; only the test suite turns this on, for
# its stand-in trackers on 127.0.0.1.
HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER = False
