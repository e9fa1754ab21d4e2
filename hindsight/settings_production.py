"""Production settings: everything in hindsight.settings, plus HTTPS behind a reverse proxy,
real mail, pooled database connections and a secret key that must be set.

`DJANGO_SETTINGS_MODULE=hindsight.settings_production python manage.py check --deploy` passes.
"""

from __future__ import annotations

from hindsight.env import envbool, envint, envstr
from hindsight.settings import *  # noqa: F403
from hindsight.settings import DATABASES, image_storage, mailers

DEBUG = False
SECRET_KEY = envstr("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
    raise RuntimeError(
        "DJANGO_SECRET_KEY must be set to a random string of 50 or more characters, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# The proxy in front terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
# Health probes (the container's, a load balancer's) speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "images": image_storage(),
}
WHITENOISE_USE_FINDERS = False

# Nags and notifications go out for real: SMTP (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) unless EMAIL_BACKEND names another backend.
MAILERS = mailers(envstr("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"))

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI a persistent connection per thread leaks; a pool is the supported way to reuse.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": envint("DATABASE_POOL_MIN", 2),
        "max_size": envint("DATABASE_POOL_MAX", 20),
        # A request waits this long for a free connection, then gets a 503 asking it to retry.
        "timeout": envint("DATABASE_POOL_TIMEOUT", 10),
    }
