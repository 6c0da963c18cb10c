"""arXiv's announcement calendar: Sunday to Thursday 20:00 US Eastern, 14:00 cutoffs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from digest.catalog.arxiv_calendar import announcement_listed_on, announcement_on_evening, latest_announcement

UTC = dt.UTC


@pytest.mark.parametrize(
    ("evening", "window"),
    [
        # Sunday: Thursday 14:00 → Friday 14:00 (EST: 19:00 UTC)
        (dt.date(2026, 11, 29), ("2026-11-26 19:00", "2026-11-27 19:00")),
        # Monday: Friday 14:00 → Monday 14:00, the weekend included
        (dt.date(2026, 11, 30), ("2026-11-27 19:00", "2026-11-30 19:00")),
        # Tuesday: Monday → Tuesday
        (dt.date(2026, 12, 1), ("2026-11-30 19:00", "2026-12-01 19:00")),
        # Summer time (EDT): the cutoff is 18:00 UTC
        (dt.date(2026, 7, 8), ("2026-07-07 18:00", "2026-07-08 18:00")),
    ],
)
def test_each_announcement_carries_the_submissions_between_two_cutoffs(evening, window):
    found = announcement_on_evening(evening)
    assert found is not None
    start, end = (dt.datetime.fromisoformat(w).replace(tzinfo=UTC) for w in window)
    assert (found.submitted_from, found.submitted_until) == (start, end)
    assert found.listed_on == evening + dt.timedelta(days=1)  # 00:00 or 01:00 UTC the next day


def test_friday_and_saturday_evenings_announce_nothing_and_weekend_days_list_nothing():
    assert announcement_on_evening(dt.date(2026, 11, 27)) is None
    assert announcement_on_evening(dt.date(2026, 11, 28)) is None
    assert announcement_listed_on(dt.date(2026, 11, 28)) is None
    assert announcement_listed_on(dt.date(2026, 11, 29)) is None
    monday = announcement_listed_on(dt.date(2026, 11, 30))
    assert monday is not None
    assert monday.evening == dt.date(2026, 11, 29)


def test_the_search_window_is_arxivs_submitted_date_clause_in_gmt():
    found = announcement_on_evening(dt.date(2026, 12, 1))
    assert found is not None
    assert found.search_window() == "submittedDate:[202611301900 TO 202612011859]"


@pytest.mark.parametrize(
    ("now", "listed_on"),
    [
        (
            dt.datetime(2026, 12, 1, 0, 59, tzinfo=UTC),
            dt.date(2026, 11, 30),
        ),  # Monday's not made yet (EST)
        (dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC), dt.date(2026, 12, 1)),  # 20:00 EST Monday
        (dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC), dt.date(2026, 11, 27)),  # Saturday: Thursday's
        (dt.datetime(2026, 7, 9, 0, 0, tzinfo=UTC), dt.date(2026, 7, 9)),  # 20:00 EDT Wednesday
    ],
)
def test_the_latest_announcement_is_the_last_one_made(now, listed_on):
    assert latest_announcement(now).listed_on == listed_on


def test_beat_runs_the_arxiv_ingest_within_two_hours_after_every_announcement_all_year(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ingest-arxiv"]
    assert entry["task"] == "digest.tasks.ingest_arxiv_announcement"
    cron = entry["schedule"]
    day, checked = dt.date(2026, 1, 1), 0
    while day.year == 2026:
        found = announcement_on_evening(day)
        day += dt.timedelta(days=1)
        if found is None:
            continue
        announced = dt.datetime.combine(found.evening, dt.time(20), tzinfo=ZoneInfo("America/New_York"))
        runs = [
            dt.datetime.combine(found.listed_on, dt.time(hour, minute), tzinfo=UTC)
            for hour in cron.hour
            for minute in cron.minute
            if (found.listed_on.isoweekday() % 7) in cron.day_of_week  # celery: 0 is Sunday
        ]
        assert any(announced <= run <= announced + dt.timedelta(hours=2) for run in runs), found
        checked += 1
    assert checked > 250  # five evenings a week, daylight saving time on and off


def test_beat_refreshes_hugging_face_several_times_a_day(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ingest-daily-papers"]
    assert entry["task"] == "digest.tasks.ingest_daily_papers"
    assert len(entry["schedule"].hour) >= 4
