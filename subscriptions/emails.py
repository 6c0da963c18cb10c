"""Email addresses and the account emails (confirm, manage), built by subscriptions.messages."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from subscriptions import links
from subscriptions.messages import build_message, render_parts
from subscriptions.models import Subscriber

logger = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254


def normalize_email(value: object) -> str:
    """The trimmed address with its domain lower-cased; raises ValidationError when invalid.

    Refuses CR/LF and other control characters, overlong values and anything that is
    not one plain `local@domain` address.
    """
    if not isinstance(value, str):
        raise ValidationError("Enter an email address.", code="invalid")
    if "\r" in value or "\n" in value:
        raise ValidationError("An email address cannot contain line breaks.", code="invalid")
    value = value.strip()
    if not value:
        raise ValidationError("Enter an email address.", code="required")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("An email address cannot contain control characters.", code="invalid")
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            f"An email address has at most {MAX_EMAIL_LENGTH} characters.", code="max_length"
        )
    local, sep, domain = value.rpartition("@")
    if not sep or not local or not domain:
        raise ValidationError("Enter a valid email address, like name@example.com.", code="invalid")
    normalized = f"{local}@{domain.lower()}"
    try:
        validate_email(normalized)
    except ValidationError as exc:
        raise ValidationError("Enter a valid email address, like name@example.com.", code="invalid") from exc
    return normalized


def email_hash(email: str) -> str:
    """SHA-256 of the fully lower-cased, trimmed address (what a Suppression stores)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def _send(subscriber: Subscriber, name: str, context: dict[str, object]) -> bool:
    subject, text, html = render_parts(f"subscriptions/email/{name}", context)
    message = build_message(
        subject=subject,
        text=text,
        html=html,
        to=subscriber.email,
        from_email=settings.ACCOUNT_FROM_EMAIL,
        tags=["account", name],
        metadata={"kind": name},
    )
    try:
        message.send()
    except Exception:
        # The reader sees the same page either way and may ask again; never a 500.
        logger.exception("Could not send the %s email", name)
        return False
    return True


def _base_context() -> dict[str, object]:
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "postal_address": settings.POSTAL_ADDRESS,
    }


def send_confirmation_email(subscriber: Subscriber) -> bool:
    """Send the double opt-in email with a signed confirm link; True when the backend took it."""
    context = {
        **_base_context(),
        "confirm_url": links.confirm_url(subscriber),
        "valid_days": settings.CONFIRM_TOKEN_MAX_AGE_DAYS,
        "topics": [topic.name for topic in subscriber.topics.all()],
    }
    return _send(subscriber, "confirm", context)


def send_manage_email(subscriber: Subscriber) -> bool:
    """Send an active reader their preferences and unsubscribe links; changes nothing."""
    context = {
        **_base_context(),
        "preferences_url": links.preferences_url(subscriber),
        "unsubscribe_url": links.unsubscribe_url(subscriber),
    }
    return _send(subscriber, "manage", context)
