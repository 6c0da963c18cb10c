"""Celery tasks for account emails: take an id, re-check state, call the email helper."""

from __future__ import annotations

from celery import shared_task

from subscriptions import emails
from subscriptions.models import Subscriber

_SENDERS = {
    "confirm": (Subscriber.Status.PENDING, emails.send_confirmation_email),
    "manage": (Subscriber.Status.ACTIVE, emails.send_manage_email),
}


@shared_task(name="subscriptions.tasks.send_account_email", acks_late=True)
def send_account_email(subscriber_id: int, kind: str) -> bool:
    """Send the `confirm` (pending readers) or `manage` (active readers) email.

    Sends nothing when the reader is gone or no longer in that state; True when sent.
    """
    status, send = _SENDERS[kind]
    subscriber = Subscriber.objects.filter(pk=subscriber_id, status=status).first()
    if subscriber is None:
        return False
    return send(subscriber)
