"""Reads about readers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from subscriptions import signals
from subscriptions.models import Subscriber

PAST_DIGESTS = 30


def mailable_subscribers() -> QuerySet[Subscriber]:
    """Readers who may get mail: status active (services never activate a suppressed address,
    and suppressing sets bounced/complained). Pauses and due hours are the digest's job."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)


@dataclass(frozen=True)
class PastDigest:
    day: dt.date
    subject: str
    url: str  # the digest's web copy


def past_digests(subscriber: Subscriber, *, limit: int = PAST_DIGESTS) -> list[PastDigest]:
    """The reader's last `limit` digests, newest first, from whichever app sends them."""
    found: list[PastDigest] = []
    for _, part in signals.past_digests_requested.send(sender=Subscriber, subscriber=subscriber, limit=limit):
        if isinstance(part, list):
            found += [p for p in part if isinstance(p, PastDigest)]
    return sorted(found, key=lambda p: p.day, reverse=True)[:limit]
