"""Absolute, personal links put in emails (built on SITE_URL)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, make_token


def absolute(path: str) -> str:
    """SITE_URL + path."""
    return f"{settings.SITE_URL}{path}"


def confirm_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscriptions:confirm", args=[make_token(subscriber, Purpose.CONFIRM)]))


def preferences_url(subscriber: Subscriber) -> str:
    return absolute(reverse("subscriptions:preferences", args=[make_token(subscriber, Purpose.MANAGE)]))


def unsubscribe_url(subscriber: Subscriber) -> str:
    """The unsubscribe page (GET shows a button) and RFC 8058 one-click target (POST)."""
    return absolute(reverse("subscriptions:unsubscribe", args=[make_token(subscriber, Purpose.UNSUBSCRIBE)]))
