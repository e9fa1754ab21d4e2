"""Settings, read from the environment (12-factor).

With no DATABASE_URL the app runs on a SQLite file under var/; with no REDIS_URL the live-update
bus is in-process and the cache is local memory. Production adds hindsight.settings_production.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

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
    "incidents",
    "postmortems",
    "actions",
    "insights",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hindsight.middleware.ViewerTimezoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
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
            ],
            "builtins": ["postmortems.templatetags.document", "django.templatetags.tz"],
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Requests with a body larger than this are refused before a view sees them.
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
# How often a stakeholder page left open looks for changes, in seconds.
HINDSIGHT_READER_REFRESH_SECONDS = envint("HINDSIGHT_READER_REFRESH_SECONDS", 20)

# Reminders about overdue action items ("nags"): the daily run's hour, and the time zone that
# hour and "overdue" are read in; how often an item reminds (a team can choose its own) and
# after how many reminders the lead is copied; how often a failing channel is tried, waiting
# HINDSIGHT_NAG_RETRY_SECONDS and doubling each time.
HINDSIGHT_NAG_HOUR = envint("HINDSIGHT_NAG_HOUR", 9)
HINDSIGHT_NAG_TIME_ZONE = envstr("HINDSIGHT_NAG_TIME_ZONE", TIME_ZONE)
HINDSIGHT_NAG_EVERY_DAYS = envint("HINDSIGHT_NAG_EVERY_DAYS", 7)
HINDSIGHT_NAG_ESCALATE_AFTER = envint("HINDSIGHT_NAG_ESCALATE_AFTER", 3)
HINDSIGHT_NAG_ATTEMPTS = envint("HINDSIGHT_NAG_ATTEMPTS", 4)
HINDSIGHT_NAG_RETRY_SECONDS = envint("HINDSIGHT_NAG_RETRY_SECONDS", 30)

# How far back "seen before" looks for earlier incidents sharing a service or a cause category.
HINDSIGHT_RECURRENCE_DAYS = envint("HINDSIGHT_RECURRENCE_DAYS", 90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
