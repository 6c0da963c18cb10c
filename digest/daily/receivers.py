"""Delivery status from ESP tracking events (subscriptions stores them and signals)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import EmailEvent
from subscriptions.signals import email_event_recorded

logger = logging.getLogger(__name__)

_STATUS = {"bounced": Delivery.Status.BOUNCED, "complained": Delivery.Status.COMPLAINED}
_STAMP = {"opened": "opened_at", "clicked": "clicked_at"}
# Events that prove the ESP took the message: the row was sent, whatever its sender knew.
_TAKEN = {
    "queued",
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "autoresponded",
    "opened",
    "clicked",
    "complained",
}
_NOT_TAKEN = {"rejected", "failed"}
SETTLED_BY_ESP = "settled by the ESP's tracking event"


def settle_from_event(event: EmailEvent, rows: QuerySet[Delivery], when: dt.datetime) -> None:
    """An event about a row whose outcome is unknown (or still being written) settles it: sent
    when the ESP took the message, failed when it refused it."""
    open_rows = rows.filter(
        status__in=[Delivery.Status.UNCERTAIN, Delivery.Status.SENDING, Delivery.Status.QUEUED]
    )
    if event.event_type in _TAKEN:
        open_rows.update(
            status=Delivery.Status.SENT,
            sent_at=when,
            esp_message_id=event.message_id[:200],
            note=SETTLED_BY_ESP,
            updated_at=timezone.now(),
        )
    elif event.event_type in _NOT_TAKEN:
        open_rows.filter(status=Delivery.Status.UNCERTAIN).update(
            status=Delivery.Status.FAILED, note=SETTLED_BY_ESP, updated_at=timezone.now()
        )


@receiver(email_event_recorded, dispatch_uid="digest.delivery_from_event")
def delivery_from_event(sender: object, event: EmailEvent, **kwargs: object) -> None:
    """Settle the event's delivery if its outcome was open, then mark it bounced / complained,
    or stamp its first open / click. Idempotent."""
    if not event.delivery_id:
        return
    rows = Delivery.objects.filter(pk=event.delivery_id)
    when = event.occurred_at or event.received_at
    settle_from_event(event, rows, when)
    if event.event_type in _STATUS:
        rows.exclude(status=_STATUS[event.event_type]).update(
            status=_STATUS[event.event_type], updated_at=when
        )
    elif event.event_type in _STAMP:
        stamp = _STAMP[event.event_type]
        rows.filter(**{f"{stamp}__isnull": True}).update(**{stamp: when})
