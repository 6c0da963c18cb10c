"""Delivery status from ESP tracking events (subscriptions stores them and signals)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from digest.models import Delivery
from subscriptions.models import EmailEvent
from subscriptions.signals import email_event_recorded

logger = logging.getLogger(__name__)

_STATUS = {"bounced": Delivery.Status.BOUNCED, "complained": Delivery.Status.COMPLAINED}
_STAMP = {"opened": "opened_at", "clicked": "clicked_at"}


@receiver(email_event_recorded, dispatch_uid="digest.delivery_from_event")
def delivery_from_event(sender: object, event: EmailEvent, **kwargs: object) -> None:
    """Mark the event's delivery bounced / complained, or stamp its first open / click. Idempotent."""
    if not event.delivery_id:
        return
    rows = Delivery.objects.filter(pk=event.delivery_id)
    when = event.occurred_at or event.received_at
    if event.event_type in _STATUS:
        rows.exclude(status=_STATUS[event.event_type]).update(
            status=_STATUS[event.event_type], updated_at=when
        )
    elif event.event_type in _STAMP:
        stamp = _STAMP[event.event_type]
        rows.filter(**{f"{stamp}__isnull": True}).update(**{stamp: when})
