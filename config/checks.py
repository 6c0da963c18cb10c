"""What production must not start with: a check at error level (`manage.py check --deploy`
and every management command's start) and a refusal in every server process (gunicorn's WSGI
entry point and Celery's worker and beat: `refuse_unsafe_start`).

In production (PAPERBOY_ENV=production): PostgreSQL, not SQLite; a real broker (REDIS_URL),
not Celery run in-process; named ALLOWED_HOSTS, not "*"; a webhook secret of at least 24
varied characters; an https:// SITE_URL (RFC 8058 one-click unsubscribe wants HTTPS; plain
http only for a loopback host, as the local compose stack has); in batch
mode, an ESP backend that sends merge data and merge headers. Everywhere: TRUSTED_PROXIES that
parse.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from digest.catalog.limits import LEARNING_TIME_LIMIT
from subscriptions.clientip import parse_networks

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
SECRET_MIN_LENGTH = 24
SECRET_MIN_DISTINCT = 10
# anymail backends whose ESP takes per-recipient merge_data and merge_headers in one call.
BATCH_BACKENDS = (
    "anymail.backends.postmark",
    "anymail.backends.sendgrid",
    "anymail.backends.mailgun",
    "anymail.backends.sparkpost",
    "anymail.backends.mailjet",
    "anymail.backends.brevo",
    "anymail.backends.sendinblue",
    "anymail.backends.resend",
    "anymail.backends.test",
    "digest.bench.backend",
)


def production_problems() -> list[tuple[str, str, str]]:
    """(id, what is wrong, how to fix it) for each unsafe setting."""
    problems = []
    try:
        parse_networks(settings.TRUSTED_PROXIES)
    except ImproperlyConfigured as exc:
        problems.append(
            ("paperboy.E106", str(exc), "List addresses like 10.0.0.7 or networks like 10.0.0.0/8.")
        )
    if settings.DIGEST_SEND_MODE == "batch" and not settings.EMAIL_BACKEND.startswith(BATCH_BACKENDS):
        problems.append(
            (
                "paperboy.E107",
                f"DIGEST_SEND_MODE=batch, but EMAIL_BACKEND {settings.EMAIL_BACKEND} cannot send merge data "
                "and merge headers in one call.",
                "Use an anymail ESP backend that can (Postmark, SendGrid, Mailgun, SparkPost, Mailjet, "
                "Brevo, Resend) or DIGEST_SEND_MODE=per-message.",
            )
        )
    if settings.PAPERBOY_ENV != "production":
        return problems
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        problems.append(
            (
                "paperboy.E101",
                "Production runs on SQLite.",
                "Set DATABASE_URL=postgres://user:password@host/db.",
            )
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(
            (
                "paperboy.E102",
                "Production has no broker: Celery would run tasks inside web requests and rate limits "
                "would be per process.",
                "Set REDIS_URL=redis://host:6379/0 (and run a worker and one beat).",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(
            (
                "paperboy.E103",
                "ALLOWED_HOSTS contains '*'.",
                "List the site's host names, e.g. papers.example.org.",
            )
        )
    if not _strong_webhook_secret(str(settings.ANYMAIL.get("WEBHOOK_SECRET", ""))):
        problems.append(
            (
                "paperboy.E104",
                f"ANYMAIL_WEBHOOK_SECRET is weak: its password needs at least {SECRET_MIN_LENGTH} varied "
                "random characters.",
                "Set it to user:<password>, the password e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.",
            )
        )
    if not _https_or_loopback(settings.SITE_URL):
        problems.append(
            (
                "paperboy.E105",
                f"SITE_URL {settings.SITE_URL} is not https://: links and one-click unsubscribe (RFC 8058) "
                "need HTTPS.",
                "Set SITE_URL=https://your.host.",
            )
        )
    return problems


def _https_or_loopback(url: str) -> bool:
    """https, or plain http to this machine only (the local compose stack: no reader can reach
    it, and it has no certificate)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def _strong_webhook_secret(secret: str) -> bool:
    password = secret.split(":", 1)[1] if ":" in secret else secret
    return len(password) >= SECRET_MIN_LENGTH and len(set(password)) >= SECRET_MIN_DISTINCT


@register()
def unsafe_for_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors for every unsafe setting: run by `check --deploy` and at every command's start
    (a regular check runs in both)."""
    return [Error(message, hint=hint, id=check_id) for check_id, message, hint in production_problems()]


def refuse_unsafe_start(*, web: bool = False) -> None:
    """Raise ImproperlyConfigured naming every unsafe setting, and (DEBUG off) every problem
    that would make the process fail later: a database that does not answer, migrations not
    applied, a broker that does not answer, static files not collected (`web`). Server
    processes call this: gunicorn's entry point, Celery's worker and beat."""
    from config.start_checks import start_problems

    problems = [f"{message} {hint}" for _, message, hint in production_problems() + timing_problems()]
    problems += start_problems(web=web)
    if problems:
        raise ImproperlyConfigured("Paperboy refuses to start: " + "; ".join(problems))


def timing_problems() -> list[tuple[str, str, str]]:
    """(id, what is wrong, how to fix it) for send timings that would break exactly-once:
    healing takes a claim older than DIGEST_STUCK_AFTER_MINUTES for a dead sender's, and a
    task Celery hands out again settles its own earlier run's rows, so both must come only
    after Celery's hard time limit has surely ended that run."""
    problems = []
    hard = settings.CELERY_TASK_TIME_LIMIT
    if not hard:
        return [
            (
                "paperboy.E108",
                "CELERY_TASK_TIME_LIMIT is not set: a stuck sender could outlive its claim.",
                "Set CELERY_TASK_TIME_LIMIT (seconds), below DIGEST_STUCK_AFTER_MINUTES x 60.",
            )
        ]
    lease = settings.DIGEST_STUCK_AFTER_MINUTES * 60
    if lease <= hard:
        problems.append(
            (
                "paperboy.E108",
                f"DIGEST_STUCK_AFTER_MINUTES ({lease} s) does not exceed CELERY_TASK_TIME_LIMIT ({hard} s): "
                "a claim could be taken from a sender that is still sending.",
                "Raise DIGEST_STUCK_AFTER_MINUTES or lower CELERY_TASK_TIME_LIMIT.",
            )
        )
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is not None and visibility <= hard:
        problems.append(
            (
                "paperboy.E109",
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) does not exceed "
                f"CELERY_TASK_TIME_LIMIT ({hard} s): "
                "the broker could hand a running send task to a second worker.",
                "Raise CELERY_VISIBILITY_TIMEOUT or lower CELERY_TASK_TIME_LIMIT.",
            )
        )
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    if soft is not None and soft >= hard:
        problems.append(
            (
                "paperboy.E110",
                f"CELERY_TASK_SOFT_TIME_LIMIT ({soft} s) is not below CELERY_TASK_TIME_LIMIT ({hard} s): a "
                "sender is killed without the chance to record the send in flight.",
                "Keep the soft limit a minute or so below the hard one.",
            )
        )
    return problems


@register()
def training_timings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A warning when the broker could hand a running training of the matcher to a second
    worker (wasted minutes and memory; the model stays right: training is idempotent)."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is None or visibility > LEARNING_TIME_LIMIT:
        return []
    return [
        Warning(
            f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) does not exceed the matcher's training "
            f"tasks' time limit ({LEARNING_TIME_LIMIT} s): the broker could hand a long training "
            "to a second worker.",
            hint=f"Raise CELERY_VISIBILITY_TIMEOUT above {LEARNING_TIME_LIMIT}.",
            id="paperboy.W111",
        )
    ]


@register()
def safe_send_timings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors for send timings that would break exactly-once (every environment)."""
    return [Error(message, hint=hint, id=check_id) for check_id, message, hint in timing_problems()]
