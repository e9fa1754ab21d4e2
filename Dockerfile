# syntax=docker/dockerfile:1
# One image for every Hindsight process: web (uvicorn), worker and beat (Celery), migrate.
# docker-compose.yml shows how they run together.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    HINDSIGHT_VAR_DIR=/app/var \
    DJANGO_SETTINGS_MODULE=hindsight.settings_production \
    PATH=/app/.venv/bin:$PATH

# Chromium prints the PDF export. `--build-arg PDF_EXPORT=0` makes a smaller image whose PDF
# download says it is unavailable (Markdown export and the browser's Print still work).
ARG PDF_EXPORT=1
RUN if [ "$PDF_EXPORT" = 1 ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
        && rm -rf /var/lib/apt/lists/*; \
    fi

ARG UV_VERSION=0.13.9
RUN PIP_ROOT_USER_ACTION=ignore pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first, so that a change to the code alone reuses this layer.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

COPY . .

# Static files are collected into the image, hashed and compressed for WhiteNoise. The
# production settings insist on a secret key; this throwaway one lives only in this step.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput -v 0

# The code stays root's and read-only; the process writes only to var/ and its home
# (Chromium keeps its caches there while it prints).
RUN useradd --system --uid 10001 --user-group --create-home hindsight \
    && chown -R hindsight:hindsight /app/var
USER hindsight

EXPOSE 8000
# Django has no ASGI lifespan support; `off` saves a warning on every start. Open event
# streams are closed after 10 s on shutdown instead of holding it up.
CMD ["uvicorn", "hindsight.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--lifespan", "off", "--proxy-headers", "--timeout-graceful-shutdown", "10"]
