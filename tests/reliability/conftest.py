"""Shared pieces of the fault tests: real workers, an SMTP sink, readers due today."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.celery_worker import worker_pool
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory


@pytest.fixture
def workers(transactional_db, tmp_path: Path):
    yield from worker_pool(tmp_path)


@pytest.fixture
def due_readers() -> list[str]:
    """Twenty readers due at any hour of today (UTC, delivery hour 0), one topic."""
    topic = TopicFactory(name="LLM", slug="llm")
    for n in range(4):
        PaperTopicFactory(paper=PaperFactory(title=f"LLM paper {n}"), topic=topic)
    emails = [f"fault{n:02d}@example.com" for n in range(20)]
    for email in emails:
        SubscriberFactory(email=email, delivery_hour=0, topics=[topic])
    return emails
