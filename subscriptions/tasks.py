"""Celery tasks for sign-ups and account emails: take ids and values, re-check state, call a
service or the email helper."""

from __future__ import annotations

import logging

from celery import shared_task

from subscriptions import emails
from subscriptions.models import Subscriber, Topic

logger = logging.getLogger(__name__)

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


@shared_task(name="subscriptions.tasks.process_signup", acks_late=True)
def process_signup(
    *,
    email: str,
    topic_ids: list[int],
    frequency: str,
    weekday: int,
    delivery_hour: int,
    time_zone: str,
    papers_per_email: int,
    keywords: list[str],
    ip: str | None,
    user_agent: str,
) -> None:
    """What a sign-up does, away from the request (services.request_subscription): whatever
    state the address is in, the request only queues this, so its timing tells nothing."""
    from subscriptions.interests import Interests
    from subscriptions.services import Preferences, request_subscription

    preferences = Preferences(
        topics=tuple(Topic.objects.filter(pk__in=topic_ids, is_active=True).order_by("pk")),
        frequency=frequency,
        weekday=weekday,
        delivery_hour=delivery_hour,
        time_zone=time_zone,
        papers_per_email=papers_per_email,
        interests=Interests(keywords=tuple(keywords)),
    )
    try:
        preferences.validate()
    except ValueError:
        logger.warning("A queued sign-up no longer validates (a topic was removed meanwhile); dropped")
        return
    request_subscription(email=email, preferences=preferences, ip=ip, user_agent=user_agent)
