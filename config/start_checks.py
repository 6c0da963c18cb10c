"""What a server process checks before it serves (DEBUG off), each problem with the command or
setting that fixes it.

Fatal (the process refuses to start: it could only fail): migrations not applied; for the web,
static files not collected. Reported in the log but not fatal (an outage that passes: a worker
respawned while the database or Redis restarts must come back by itself, and gunicorn stops
altogether when a worker cannot boot): the database or the broker does not answer.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)

# An unreachable host (packets dropped, not refused) must not hold a start for long.
BROKER_TIMEOUTS = {"socket_connect_timeout": 3, "socket_timeout": 3}


def _database_problems() -> tuple[list[str], list[str]]:
    """(fatal, reported)."""
    db = settings.DATABASES["default"]
    where = (
        f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"
        if db.get("HOST")
        else db["NAME"]
    )
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], [
            f"The database {where} does not answer ({first}). Check DATABASE_URL and that the "
            "database server is running, then run `python manage.py migrate`."
        ]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        pending = plan[0][0]
        return [
            f"{len(plan)} database migration(s) are not applied (the first: {pending.app_label}."
            f"{pending.name}). Run `python manage.py migrate`."
        ], []
    return [], []


def _static_problems() -> list[str]:
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    manifest = staticfiles_storage.path(staticfiles_storage.manifest_name)
    try:
        found = staticfiles_storage.exists(staticfiles_storage.manifest_name)
    except OSError:
        found = False
    if found:
        return []
    return [
        f"Static files are not collected ({manifest} is missing: every page would fail). "
        "Run `python manage.py collectstatic --no-input` (or set STATIC_ROOT to where they are)."
    ]


def broker_error() -> Exception | None:
    """Connect to the broker once, quickly (no retry loop, short socket timeouts): the error
    when it does not answer, None when it does. /healthz/ asks the same."""
    from config.celery_app import app

    try:
        with app.connection_for_write(transport_options=BROKER_TIMEOUTS) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=5)
    except Exception as exc:  # kombu raises its own and the transport's errors
        return exc
    return None


def _broker_problems() -> list[str]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    error = broker_error()
    if error is None:
        return []
    url = urlsplit(str(settings.CELERY_BROKER_URL))
    where = f"{url.scheme}://{url.hostname}:{url.port or ''}{url.path}"
    return [
        f"The broker {where} does not answer ({type(error).__name__}). Check REDIS_URL "
        "(or CELERY_BROKER_URL) and that Redis is running."
    ]


def start_problems(*, web: bool) -> list[str]:
    """The problems that stop the start, each with its fix; those that may pass (a database or
    broker that does not answer now) are logged as errors. Nothing in development (DEBUG on)."""
    if settings.DEBUG:
        return []
    fatal, passing = _database_problems()
    passing += _broker_problems()
    if web:
        fatal += _static_problems()
    for problem in passing:
        logger.error("starting anyway, but: %s", problem)
    return fatal
