"""A reader's past digests for the preference center: what was sent, with its web copy
(subscriptions asks through a signal; it never imports digest)."""

from __future__ import annotations

from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.dispatch import receiver
from django.urls import reverse

from digest.daily.assembly import edition_url
from digest.daily.lists import reader_key
from digest.models import Delivery
from subscriptions.links import absolute
from subscriptions.models import Subscriber
from subscriptions.selectors import PastDigest
from subscriptions.signals import past_digests_requested


@receiver(past_digests_requested, dispatch_uid="digest.past_digests")
def past_digests(
    sender: object, subscriber: Subscriber, limit: int = 30, **kwargs: object
) -> list[PastDigest]:
    """The last `limit` digests sent to this reader, newest first (one query; a personal
    list's subject and address are read inside its row by the database)."""
    own = KeyTransform(reader_key(subscriber.pk), KeyTransform("lists", "edition__reasons"))
    rows = (
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT, edition__isnull=False)
        .annotate(own_subject=KeyTextTransform("subject", own), own_key=KeyTextTransform("key", own))
        .order_by("-digest_date")
        .values_list(
            "digest_date", "edition__subject", "edition__slug", "edition__personal", "own_subject", "own_key"
        )[:limit]
    )
    past = []
    for day, subject, slug, personal, own_subject, own_key in rows:
        if not personal:
            url = absolute(reverse("digest:edition", args=[slug]))
            past.append(PastDigest(day=day, subject=subject, url=url))
        elif own_key:
            url = edition_url(f"{slug}/{subscriber.pk}-{own_key}")
            past.append(PastDigest(day=day, subject=own_subject or "", url=url))
    return past
