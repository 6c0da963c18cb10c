"""Fixtures shared by the sending tests."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.daily.dispatch import dispatch_due
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory

CHUNK_DAY = dt.date(2026, 3, 2)  # the tests' clock is on this day (their `esp` fixtures)


@pytest.fixture
def chunk(esp: object) -> list[int]:
    """Six due readers planned and queued (not sent): the ids of their one chunk, in order.
    It asks for the module's `esp` fixture, which sets the clock (noon on CHUNK_DAY): planned
    on the real clock, the readers would only be due from their hour on."""
    topic = TopicFactory(name="LLM", slug="llm")
    for n in range(3):
        paper = PaperFactory(title=f"Paper {n}", listed_on=CHUNK_DAY, upvotes=9 - n)
        PaperTopicFactory(paper=paper, topic=topic)
    for n in range(6):
        SubscriberFactory(email=f"s{n}@example.com", topics=[topic], delivery_hour=8)
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    (ids,) = captured
    return sorted(ids)
