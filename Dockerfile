# One image for web (gunicorn), worker and beat (celery). See docker-compose.yml.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAPERBOY_VAR_DIR=/app/var

WORKDIR /app

RUN groupadd --system --gid 1000 paperboy \
    && useradd --system --uid 1000 --gid paperboy --home-dir /app --shell /usr/sbin/nologin paperboy

# Dependencies first so code changes do not reinstall them; the lock file pins every version.
COPY requirements.txt requirements-lock.txt ./
RUN pip install -r requirements.txt -c requirements-lock.txt

COPY --chown=paperboy:paperboy . .

# Static files are collected into the image (served by whitenoise). The settings refuse
# to start with DEBUG off and no real secrets, so the build passes throwaway values.
RUN SECRET_KEY=build-only-collectstatic-not-a-real-secret-0123456789 \
    ANYMAIL_WEBHOOK_SECRET=build:only \
    PAPERBOY_ENV=production DEBUG=false \
    python manage.py collectstatic --no-input -v 0 \
    && mkdir -p /app/var/outbox \
    && chown -R paperboy:paperboy /app/var

USER paperboy

EXPOSE 8000

# Readiness (/healthz/: database, broker, job ages) for the web command; compose gives the
# worker and beat, which run the same image, checks of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz/', timeout=5)"]

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30", "--access-logfile", "-"]
