"""When arXiv announces, and which submissions each announcement carries.

arXiv announces new submissions Sunday to Thursday at 20:00 US Eastern. Each announcement
carries what arrived between two weekday cutoffs at 14:00 Eastern: Sunday's the Thursday →
Friday window, Monday's the Friday → Monday window (the weekend), Tuesday to Thursday the
previous day's → that day's. Paperboy lists an announcement on its UTC date (00:00 or 01:00
UTC the next day, with daylight saving time), the day Hugging Face lists the same papers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_AT = dt.time(20, 0)
CUTOFF_AT = dt.time(14, 0)
# Evenings (Monday = 0) with an announcement, and how many days back each window starts and ends.
_WINDOWS = {6: (3, 2), 0: (3, 0), 1: (1, 0), 2: (1, 0), 3: (1, 0)}


@dataclass(frozen=True)
class Announcement:
    evening: dt.date  # the Eastern date of the announcement
    listed_on: dt.date  # its UTC date: the listing day papers get
    submitted_from: dt.datetime  # UTC, inclusive
    submitted_until: dt.datetime  # UTC, exclusive

    def search_window(self) -> str:
        """The arXiv API's `submittedDate:[from TO until]` clause (GMT, minute precision)."""
        last = self.submitted_until - dt.timedelta(minutes=1)
        return f"submittedDate:[{self.submitted_from:%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=EASTERN).astimezone(dt.UTC)


def announcement_on_evening(evening: dt.date) -> Announcement | None:
    """The announcement of this Eastern evening, or None (Friday and Saturday have none)."""
    if evening.weekday() not in _WINDOWS:
        return None
    starts, ends = _WINDOWS[evening.weekday()]
    return Announcement(
        evening=evening,
        listed_on=_at(evening, ANNOUNCE_AT).date(),
        submitted_from=_at(evening - dt.timedelta(days=starts), CUTOFF_AT),
        submitted_until=_at(evening - dt.timedelta(days=ends), CUTOFF_AT),
    )


def announcement_listed_on(day: dt.date) -> Announcement | None:
    """The announcement whose papers are listed on UTC day `day` (Monday to Friday), or None."""
    for evening in (day - dt.timedelta(days=1), day):
        found = announcement_on_evening(evening)
        if found is not None and found.listed_on == day:
            return found
    return None


def latest_announcement(now: dt.datetime) -> Announcement:
    """The most recent announcement made at or before `now`."""
    evening = now.astimezone(EASTERN).date()
    for back in range(8):
        found = announcement_on_evening(evening - dt.timedelta(days=back))
        if found is not None and _at(found.evening, ANNOUNCE_AT) <= now:
            return found
    raise AssertionError("arXiv announces every week")  # pragma: no cover - _WINDOWS is non-empty
