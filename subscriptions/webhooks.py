"""ESP tracking events (anymail `tracking` signal): store each once, then act on the reader.

Storing comes first and is unique on (esp_name, event_id), so a webhook the ESP retries
changes nothing; acting runs in a savepoint and a failure is recorded on the event, never
raised, so the ESP gets its 2xx and the event is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from subscriptions import services
from subscriptions.bounces import Bounce, classify
from subscriptions.emails import normalize_email
from subscriptions.models import EmailEvent, Subscriber
from subscriptions.signals import email_event_recorded

logger = logging.getLogger(__name__)


def _json_safe(value: Any) -> Any:
    try:
        # NaN / Infinity parse from an ESP body but are not JSON to the database: keep them as text.
        return json.loads(json.dumps(value, default=str), parse_constant=str)
    except (TypeError, ValueError):
        return {"repr": repr(value)[:2000]}


def _event_id(event: AnymailTrackingEvent, esp_name: str, raw: Any) -> str:
    """The ESP's id, or a stable hash of the event so a retried id-less webhook is still one row."""
    if event.event_id:
        return str(event.event_id)[:200]
    fingerprint = json.dumps(
        [esp_name, event.event_type, event.recipient, event.message_id, raw], sort_keys=True
    )
    return "sha256:" + hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()


def _delivery_id(metadata: Any) -> int | None:
    try:
        value = int(str((metadata or {}).get("delivery_id", "")))
    except (AttributeError, TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def _find_subscriber(recipient: str | None) -> Subscriber | None:
    try:
        email = normalize_email(recipient or "")
    except ValidationError:
        return None
    return Subscriber.objects.filter(email__iexact=email).order_by("pk").first()


def _count_soft_bounce(subscriber: Subscriber) -> None:
    Subscriber.objects.filter(pk=subscriber.pk).update(soft_bounce_count=F("soft_bounce_count") + 1)
    subscriber.refresh_from_db(fields=["soft_bounce_count"])
    if subscriber.soft_bounce_count >= settings.SOFT_BOUNCE_LIMIT:
        services.suppress(subscriber=subscriber, reason="bounced")


def act_on_event(event: EmailEvent) -> None:
    """What an event does to its reader: hard bounce/complaint suppress, ESP unsubscribe
    unsubscribes, soft bounces count (SOFT_BOUNCE_LIMIT in a row suppress), delivery resets.
    Hard or soft was decided on arrival (`event.bounce`, subscriptions.bounces)."""
    subscriber = event.subscriber
    if subscriber is None:
        return
    kind = event.event_type
    if event.bounce == Bounce.SOFT:
        _count_soft_bounce(subscriber)
    elif event.bounce == Bounce.HARD:
        services.suppress(subscriber=subscriber, reason="bounced")
    elif kind == EventType.COMPLAINED:
        services.suppress(subscriber=subscriber, reason="complained")
    elif kind == EventType.UNSUBSCRIBED:
        services.unsubscribe(subscriber=subscriber, reason=f"esp:{event.esp_name}"[:64])
    elif kind == EventType.DELIVERED:
        Subscriber.objects.filter(pk=subscriber.pk, soft_bounce_count__gt=0).update(soft_bounce_count=0)


def record_event(*, event: AnymailTrackingEvent, esp_name: str) -> EmailEvent | None:
    """Store `event` once (None when it was already stored), act on it, tell listeners."""
    raw = _json_safe(event.esp_event if isinstance(event.esp_event, dict | list) else {})
    subscriber = _find_subscriber(event.recipient)
    bounce = classify(
        event_type=event.event_type,
        reject_reason=event.reject_reason,
        mta_response=event.mta_response,
        description=event.description,
        esp_name=esp_name,
        raw=raw,
    )
    stored, created = EmailEvent.objects.get_or_create(
        esp_name=esp_name[:32],
        event_id=_event_id(event, esp_name, raw),
        defaults={
            "event_type": (event.event_type or "unknown")[:32],
            "reject_reason": (event.reject_reason or "")[:32],
            "bounce": bounce or "",
            "recipient": (event.recipient or "")[:254],
            "message_id": str(event.message_id or "")[:200],
            "subscriber": subscriber,
            "delivery_id": _delivery_id(event.metadata),
            "occurred_at": event.timestamp,
            "description": " | ".join(str(part) for part in (event.description, event.mta_response) if part)[
                :2000
            ],
            "raw": raw,
        },
    )
    if not created:
        return None
    errors: list[str] = []
    try:
        with transaction.atomic():
            act_on_event(stored)
    except Exception as exc:
        logger.exception("Acting on email event %s failed", stored.pk)
        errors.append(f"act: {exc!r}")
    for receiver, result in email_event_recorded.send_robust(sender=EmailEvent, event=stored):
        if isinstance(result, Exception):
            logger.error("Listener %r failed on email event %s: %r", receiver, stored.pk, result)
            errors.append(f"{getattr(receiver, '__qualname__', receiver)}: {result!r}")
    stored.processed_at = timezone.now()
    stored.error = "\n".join(errors)
    stored.save(update_fields=["processed_at", "error"])
    return stored


def handle_tracking(sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: object) -> None:
    """Receiver for anymail's `tracking` signal (connected in SubscriptionsConfig.ready)."""
    record_event(event=event, esp_name=esp_name)
