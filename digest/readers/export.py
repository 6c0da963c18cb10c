"""What the digest app adds to a reader's "download my data": their feedback on papers and
the digests sent to them (subscriptions asks through a signal; it never imports digest)."""

from __future__ import annotations

from typing import Any

from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.dispatch import receiver

from digest.daily.lists import reader_key
from digest.models import Delivery, Edition, Feedback
from subscriptions.models import Subscriber
from subscriptions.signals import reader_data_requested


@receiver(reader_data_requested, dispatch_uid="digest.reader_data")
def reader_data(sender: object, subscriber: Subscriber, **kwargs: object) -> dict[str, Any]:
    feedback = Feedback.objects.filter(subscriber=subscriber).select_related("paper").order_by("created_at")
    own = KeyTransform(reader_key(subscriber.pk), KeyTransform("lists", "edition__reasons"))
    deliveries = (
        Delivery.objects.filter(subscriber=subscriber)
        .annotate(own_subject=KeyTextTransform("subject", own))
        .select_related("edition")
        .defer("edition__html", "edition__text", "edition__reasons", "edition__paper_ids")
        .order_by("digest_date")
    )
    return {
        "feedback": [
            {
                "paper": f.paper.paper_id,
                "title": f.paper.title,
                "choice": "more like this" if f.value > 0 else "less like this",
                "at": f.updated_at.isoformat(),
            }
            for f in feedback
        ],
        "deliveries": [
            {
                "digest_date": d.digest_date.isoformat(),
                "status": d.status,
                "subject": _subject(d.edition, d.own_subject),
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "opened_at": d.opened_at.isoformat() if d.opened_at else None,
                "clicked_at": d.clicked_at.isoformat() if d.clicked_at else None,
            }
            for d in deliveries
        ],
    }


def _subject(edition: Edition | None, own_subject: str | None) -> str:
    """A delivery's subject line: its edition's, or the reader's own list's (read in the database)."""
    if edition is None:
        return ""
    return (own_subject or "") if edition.personal else edition.subject
