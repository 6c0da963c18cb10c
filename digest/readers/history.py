"""A reader's past digests for the preference center: what was sent, with its web copy
(subscriptions asks through a signal; it never imports digest)."""

from __future__ import annotations

from django.dispatch import receiver
from django.urls import reverse

from digest.models import Delivery
from subscriptions.links import absolute
from subscriptions.models import Subscriber
from subscriptions.selectors import PastDigest
from subscriptions.signals import past_digests_requested


@receiver(past_digests_requested, dispatch_uid="digest.past_digests")
def past_digests(
    sender: object, subscriber: Subscriber, limit: int = 30, **kwargs: object
) -> list[PastDigest]:
    """The last `limit` digests sent to this reader, newest first (one query)."""
    rows = (
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT, edition__isnull=False)
        .order_by("-digest_date")
        .values_list("digest_date", "edition__subject", "edition__slug")[:limit]
    )
    return [
        PastDigest(day=day, subject=subject, url=absolute(reverse("digest:edition", args=[slug])))
        for day, subject, slug in rows
    ]
