"""The Celery application; configuration comes from Django settings (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs: object) -> None:
    """Workers and beat log as the web does (settings.LOGGING: LOG_FORMAT, LOG_LEVEL, the send
    context on each line) instead of Celery's own setup."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@beat_init.connect
def dispatch_when_beat_starts(sender: object = None, **kwargs: object) -> None:
    """Beat was down for a while: dispatch once at start-up to catch up missed hours. Beat does
    not start with unsafe production settings (config/checks.py)."""
    _refuse_unsafe_start()
    app.send_task("digest.tasks.dispatch_due_digests")


@worker_init.connect
def refuse_unsafe_worker(sender: object = None, **kwargs: object) -> None:
    """A worker does not start with unsafe production settings (config/checks.py)."""
    _refuse_unsafe_start()


def _refuse_unsafe_start() -> None:
    """Exit the process (Celery logs and swallows an exception raised by a signal receiver;
    SystemExit it lets through)."""
    from django.core.exceptions import ImproperlyConfigured

    from config.checks import refuse_unsafe_start

    try:
        refuse_unsafe_start()
    except ImproperlyConfigured as exc:
        raise SystemExit(str(exc)) from exc
