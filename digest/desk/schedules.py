"""Periodic tasks (in the database, django-celery-beat) described in words, for admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from celery.schedules import crontab, schedule
from django.urls import reverse

from digest.ops.schedules import crontab_fields

_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@dataclass(frozen=True)
class ScheduleRow:
    name: str
    task: str
    when: str
    raw: str
    enabled: bool = True
    last_run: dt.datetime | None = None
    url: str = ""


def _hours_text(hour: str, minute: str) -> str:
    if hour == "*":
        return f"every hour at :{int(minute):02d}" if minute.isdigit() else f"minutes {minute} of every hour"
    if minute.isdigit() and all(h.isdigit() for h in hour.split(",")):
        times = ", ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
        return f"daily at {times} UTC"
    return f"at minute {minute} of hours {hour} UTC"


def describe(value: Any) -> str:
    """A cron-like or interval schedule in plain words (times in UTC)."""
    if isinstance(value, crontab):
        fields = crontab_fields(value)
        text = _hours_text(fields["hour"], fields["minute"])
        dow, dom = fields["day_of_week"], fields["day_of_month"]
        if dow != "*":
            days = [_WEEKDAYS[int(d) % 7] if d.isdigit() else d for d in dow.split(",")]
            text = text.replace("daily", "") + f" on {', '.join(days)}"
        if dom != "*":
            text += f" on day {dom} of the month"
        return " ".join(text.split())
    seconds: float | None = value.seconds if isinstance(value, schedule) else None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    if seconds is None:
        return str(value)
    if seconds % 3600 == 0:
        return f"every {int(seconds // 3600)} hour(s)"
    if seconds % 60 == 0:
        return f"every {int(seconds // 60)} minute(s)"
    return f"every {seconds:g} seconds"


def _raw(value: Any) -> str:
    if isinstance(value, crontab):
        fields = crontab_fields(value)
        parts = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
        return " ".join(fields[p] for p in parts)
    return str(value)


def beat_schedule() -> list[ScheduleRow]:
    """Every periodic task beat reads (the database), sorted by name, with its admin page."""
    from django_celery_beat.models import PeriodicTask

    rows = []
    tasks = PeriodicTask.objects.select_related("crontab", "interval", "solar", "clocked").order_by("name")
    for task in tasks:
        when = task.schedule
        rows.append(
            ScheduleRow(
                name=task.name,
                task=task.task,
                when=describe(when),
                raw=_raw(when),
                enabled=task.enabled,
                last_run=task.last_run_at,
                url=reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]),
            )
        )
    return rows
