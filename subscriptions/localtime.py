"""The one place that says what day and hour it is for a reader."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.utils import timezone


@functools.lru_cache(maxsize=1024)
def get_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; raises zoneinfo.ZoneInfoNotFoundError / ValueError if unknown."""
    return zoneinfo.ZoneInfo(name)


def is_valid_timezone(name: object) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64 or "\x00" in name:
        return False
    try:
        get_zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def local_now(tz_name: str, now: dt.datetime | None = None) -> dt.datetime:
    """`now` (default: the current time) in the reader's zone, DST included."""
    return (now or timezone.now()).astimezone(get_zone(tz_name))


def local_date(tz_name: str, now: dt.datetime | None = None) -> dt.date:
    """The reader's calendar date at `now`."""
    return local_now(tz_name, now).date()


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    # zoneinfo.available_timezones() walks the tz database on disk: do it once per process.
    legacy = ("Etc/", "SystemV/", "US/", "posix/", "right/")
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(legacy))
    return (*names, "UTC")


def available_timezones() -> list[str]:
    """Sorted IANA zone names for selects (no legacy aliases like 'US/Eastern')."""
    return list(_zone_names())
