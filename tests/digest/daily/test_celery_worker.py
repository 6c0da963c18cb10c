"""A day's digests through a real Celery worker on the Redis broker: one each."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.daily.dispatch import dispatch_due
from digest.models import Delivery
from digest.tasks import dispatch_due_digests, enqueue_chunk
from tests.celery_worker import needs_redis_and_postgres, worker_pool
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.reliability.smtp_sink import SmtpSink

pytestmark = [pytest.mark.redis, needs_redis_and_postgres(), pytest.mark.django_db(transaction=True)]

READERS = 20


@pytest.fixture
def workers(transactional_db, tmp_path: Path):
    yield from worker_pool(tmp_path)


@pytest.fixture
def readers() -> list[str]:
    """Twenty readers due at any hour of today (UTC, delivery hour 0), two topic sets."""
    llm, vision = TopicFactory(name="LLM", slug="llm"), TopicFactory(name="Vision", slug="vision")
    for n in range(4):
        PaperTopicFactory(paper=PaperFactory(title=f"LLM paper {n}"), topic=llm)
        PaperTopicFactory(paper=PaperFactory(title=f"Vision paper {n}"), topic=vision)
    emails = [f"worker{n}@example.com" for n in range(READERS)]
    for n, email in enumerate(emails):
        SubscriberFactory(email=email, delivery_hour=0, topics=[llm] if n % 2 else [llm, vision])
    return emails


def _delivered(sink: SmtpSink, readers: list[str], *, timeout: float = 60) -> None:
    sink.wait_for(len(readers), timeout=timeout)
    assert sink.per_recipient() == dict.fromkeys(readers, 1)
    assert Delivery.objects.count() == len(readers)
    rows = Delivery.objects.filter(status=Delivery.Status.SENT, attempts=1)
    assert sorted(rows.values_list("subscriber__email", flat=True)) == sorted(readers)


def test_dispatch_through_a_real_worker_sends_one_digest_per_reader(workers, readers):
    with SmtpSink() as sink:
        workers.start(env=sink.env(), concurrency=2)
        report = dispatch_due(enqueue=enqueue_chunk)
        assert report.queued == READERS
        _delivered(sink, readers)


def test_the_hourly_task_on_the_worker_sends_one_digest_per_reader_even_when_sent_twice(
    workers, readers, settings
):
    settings.DIGEST_CHUNK_SIZE = 5
    with SmtpSink() as sink:
        workers.start(env={**sink.env(), "DIGEST_CHUNK_SIZE": "5"}, concurrency=2)
        dispatch_due_digests.delay()
        dispatch_due_digests.delay()  # beat's start-up catch-up and the hourly tick at once
        _delivered(sink, readers)
