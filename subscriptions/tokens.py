"""Signed, purpose-bound tokens for the links in emails (django.core.signing).

A token carries the subscriber's random `token_key`, never the primary key, and
is salted per purpose: a confirm token cannot unsubscribe, and vice versa.
Rotating `Subscriber.token_key` invalidates every token issued before.
"""

from __future__ import annotations

import enum
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

from subscriptions.models import Subscriber


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"


class BadToken(Exception):
    """The token is malformed, tampered, expired, for another purpose, or unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _salt(purpose: Purpose) -> str:
    return f"paperboy.subscriptions.{purpose.value}"


def make_token(subscriber: Subscriber, purpose: Purpose) -> str:
    """A URL-safe signed token for `subscriber` and `purpose`."""
    return signing.TimestampSigner(salt=_salt(purpose)).sign(subscriber.token_key.hex)


def _max_age(purpose: Purpose) -> timedelta | None:
    if purpose is Purpose.CONFIRM:
        return timedelta(days=settings.CONFIRM_TOKEN_MAX_AGE_DAYS)
    return None  # manage and unsubscribe links work forever


def read_token(token: str, purpose: Purpose) -> uuid.UUID:
    """The token_key inside a valid token; raises BadToken otherwise (no DB access)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        raise BadToken("malformed")
    try:
        value = signing.TimestampSigner(salt=_salt(purpose)).unsign(token, max_age=_max_age(purpose))
    except signing.SignatureExpired as exc:
        raise BadToken("expired") from exc
    except signing.BadSignature as exc:
        raise BadToken("invalid") from exc
    try:
        return uuid.UUID(hex=value)
    except ValueError as exc:
        raise BadToken("invalid") from exc


def subscriber_for_token(token: str, purpose: Purpose) -> Subscriber:
    """The subscriber a valid token belongs to; raises BadToken if none."""
    key = read_token(token, purpose)
    try:
        return Subscriber.objects.get(token_key=key)
    except Subscriber.DoesNotExist as exc:
        raise BadToken("unknown") from exc
