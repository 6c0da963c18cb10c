"""Reads about readers."""

from __future__ import annotations

from django.db.models import QuerySet

from subscriptions.models import Subscriber


def mailable_subscribers() -> QuerySet[Subscriber]:
    """Readers who may get mail: status active (services never activate a suppressed address,
    and suppressing sets bounced/complained). Pauses and due hours are the digest's job."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
