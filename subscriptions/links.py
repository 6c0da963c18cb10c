"""Absolute, personal links put in emails (built on SITE_URL)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, TokenMaker, make_token

_MARK = "PAPERBOYTOKEN"


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


class LinkMaker:
    """preferences / unsubscribe URLs for many readers, equal to the two functions above:
    each URL is reversed once (a template split at the token) and tokens come from a
    TokenMaker per purpose."""

    def __init__(self) -> None:
        self._makers = {p: TokenMaker(p) for p in (Purpose.MANAGE, Purpose.UNSUBSCRIBE, Purpose.FEEDBACK)}
        self._urls = {
            Purpose.MANAGE: absolute(reverse("subscriptions:preferences", args=[_MARK])).split(_MARK),
            Purpose.UNSUBSCRIBE: absolute(reverse("subscriptions:unsubscribe", args=[_MARK])).split(_MARK),
        }

    def _url(self, purpose: Purpose, token_key: uuid.UUID) -> str:
        head, tail = self._urls[purpose]
        return f"{head}{self._makers[purpose].token(token_key)}{tail}"

    def links(self, token_key: uuid.UUID) -> tuple[str, str]:
        """(preferences_url, unsubscribe_url) for the reader with this token_key."""
        return self._url(Purpose.MANAGE, token_key), self._url(Purpose.UNSUBSCRIBE, token_key)

    def feedback_token(self, token_key: uuid.UUID) -> str:
        """The reader's token for "more / less like this" links (make_token's, byte for byte)."""
        return self._makers[Purpose.FEEDBACK].token(token_key)
