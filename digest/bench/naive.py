"""The baseline a simple implementation would be: per reader, query the papers, render the
template, send one message, write one Delivery row. No sharing between readers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from digest.catalog.ranking import ranked_papers
from digest.daily.candidates import listing_days, parse_topic_key
from digest.daily.due import due_chunks, due_readers
from digest.daily.rendering import render_digest
from digest.daily.sending import build_digest_message
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber, Topic


def send_naively(
    *, digest_date: dt.date, limit: int | None = None, on_reader: Callable[[int], object] = lambda n: None
) -> int:
    """Send every due reader (at most `limit`) their digest the naive way; returns messages sent."""
    now = timezone.now()
    sent = 0
    readers = due_readers(now=now, digest_date=digest_date, send_all=True)
    for chunk in due_chunks(readers, size=500):
        for reader in chunk:
            if limit is not None and sent >= limit:
                return sent
            topic_ids = parse_topic_key(reader.topic_key)
            days = listing_days(digest_date=digest_date, frequency=reader.frequency)
            ranked = ranked_papers(days=days, topic_ids=topic_ids, now=now, limit=reader.papers_per_email)
            papers: list[Paper] = [r.paper for r in ranked]
            rendered = render_digest(
                papers=papers,
                topics=list(Topic.objects.filter(pk__in=topic_ids)),
                digest_date=digest_date,
                frequency=reader.frequency,
            )
            subscriber = Subscriber.objects.only("pk", "email", "token_key").get(pk=reader.pk)
            delivery = Delivery.objects.create(
                subscriber_id=reader.pk, digest_date=digest_date, status=Delivery.Status.SENDING
            )
            build_digest_message(
                rendered_or_edition=rendered, subscriber=subscriber, delivery_id=delivery.pk
            ).send()
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SENT, sent_at=timezone.now()
            )
            sent += 1
            on_reader(1)
    return sent
