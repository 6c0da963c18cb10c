"""Periodic tasks live in the database (django-celery-beat), editable in admin. Their
defaults come from settings.CELERY_BEAT_SCHEDULE: a default is written only when no task of
that name exists, so an operator's change (time, enabled, arguments) is never overwritten —
not by a deploy, a migration, `load_seeds` or beat starting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab
from django.conf import settings
from django.db import transaction

DESCRIPTION = "Default from settings.CELERY_BEAT_SCHEDULE; edit freely: it is never overwritten."


def crontab_fields(value: crontab) -> dict[str, str]:
    """A crontab's five fields as they were written (celery keeps them only in its _orig_*
    attributes), named as django-celery-beat's CrontabSchedule names them."""
    return {
        "minute": str(value._orig_minute),  # type: ignore[attr-defined]
        "hour": str(value._orig_hour),  # type: ignore[attr-defined]
        "day_of_week": str(value._orig_day_of_week),  # type: ignore[attr-defined]
        "day_of_month": str(value._orig_day_of_month),  # type: ignore[attr-defined]
        "month_of_year": str(value._orig_month_of_year),  # type: ignore[attr-defined]
    }


def install_defaults(
    periodic_task: Any, crontab_schedule: Any, defaults: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """Create the periodic tasks of `defaults` (CELERY_BEAT_SCHEDULE) that do not exist yet;
    the names created. Takes the model classes, so a migration can pass its historical ones."""
    chosen: Mapping[str, Mapping[str, Any]] = settings.CELERY_BEAT_SCHEDULE if defaults is None else defaults
    existing = set(periodic_task.objects.values_list("name", flat=True))
    created = []
    with transaction.atomic():
        for name, entry in chosen.items():
            if name in existing:
                continue
            when = entry["schedule"]
            if not isinstance(when, crontab):
                raise TypeError(f"{name}: only crontab schedules are installed ({when!r})")
            schedule, _ = crontab_schedule.objects.get_or_create(**crontab_fields(when), timezone="UTC")
            periodic_task.objects.create(
                name=name,
                task=entry["task"],
                crontab=schedule,
                args=json.dumps(list(entry.get("args", []))),
                kwargs=json.dumps(dict(entry.get("kwargs", {}))),
                enabled=True,
                description=DESCRIPTION,
            )
            created.append(name)
    return created


def install_default_schedules() -> list[str]:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    return install_defaults(PeriodicTask, CrontabSchedule)
