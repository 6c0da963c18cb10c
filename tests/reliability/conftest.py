"""Shared pieces of the fault tests: real workers, an SMTP sink, readers due today."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from tests.celery_worker import worker_pool
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory


@pytest.fixture
def workers(transactional_db, tmp_path: Path):
    yield from worker_pool(tmp_path)


def midday_zone(now: dt.datetime) -> str:
    """A fixed-offset zone where it is about noon at `now` (UTC), on the same date: a test that
    moves the clock an hour or two on never crosses its readers' midnight, whenever it runs."""
    hours = 12 - now.astimezone(dt.UTC).hour  # -11 … +12
    return "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"  # Etc/GMT-5 is UTC+5


@pytest.fixture
def due_readers() -> list[str]:
    """Twenty readers due now (delivery hour 0 in a zone where it is about noon), one topic."""
    topic = TopicFactory(name="LLM", slug="llm")
    for n in range(4):
        PaperTopicFactory(paper=PaperFactory(title=f"LLM paper {n}"), topic=topic)
    emails = [f"fault{n:02d}@example.com" for n in range(20)]
    zone = midday_zone(timezone.now())
    for email in emails:
        SubscriberFactory(email=email, delivery_hour=0, timezone=zone, topics=[topic])
    return emails
