"""The daily run collects garbage rarely while it runs, and puts the thresholds back."""

from __future__ import annotations

import datetime as dt
import gc

import pytest
import time_machine
from django.core import mail

from digest.daily.collection import RARE, rare_collections
from digest.daily.dispatch import dispatch_due
from digest.daily.sending import send_chunk
from digest.models import Delivery
from tests.digest.daily import fake_esp
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


@pytest.fixture
def default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def _failing_run(inside: list[tuple[int, int, int]]) -> None:
    with rare_collections():
        inside.append(gc.get_threshold())
        with rare_collections():  # nested: the outer block's setting stays
            inside.append(gc.get_threshold())
        inside.append(gc.get_threshold())
        raise RuntimeError("a failed run")


def test_thresholds_are_raised_inside_and_restored_after_an_error(default_thresholds):
    inside: list[tuple[int, int, int]] = []
    with pytest.raises(RuntimeError, match="a failed run"):
        _failing_run(inside)
    assert inside == [RARE, RARE, RARE]
    assert gc.get_threshold() == default_thresholds


def test_cycles_made_inside_are_still_collected_after(default_thresholds):
    class Node:
        other: object = None

    with rare_collections():
        first, second = Node(), Node()
        first.other, second.other = second, first
        del first, second
    assert gc.collect() >= 2


@pytest.mark.django_db(transaction=True)
def test_dispatch_and_send_run_with_rare_collections(default_thresholds, settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    fake_esp.reset()
    mail.outbox = []
    topic = TopicFactory(name="LLM", slug="llm")
    PaperTopicFactory(paper=PaperFactory(title="A paper", listed_on=NOW.date(), upvotes=5), topic=topic)
    SubscriberFactory(email="r@example.com", topics=[topic], delivery_hour=8)
    seen: list[tuple[int, int, int]] = []

    def enqueue(ids: list[int]) -> None:
        seen.append(gc.get_threshold())  # called from inside the dispatch
        send_chunk(ids)
        seen.append(gc.get_threshold())

    with time_machine.travel(NOW, tick=False):
        report = dispatch_due(enqueue=enqueue, digest_date=NOW.date(), send_all=True)
    assert report.queued == 1
    assert seen == [RARE, RARE]
    assert gc.get_threshold() == default_thresholds
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert [m.to for m in mail.outbox] == [["r@example.com"]]
