"""Signed, purpose-bound tokens for the links in emails (django.core.signing).

A token carries the subscriber's random `token_key`, never the primary key, and
is salted per purpose: a confirm token cannot unsubscribe, and vice versa.
Rotating `Subscriber.token_key` invalidates every token issued before.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

from subscriptions.models import Subscriber


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"
    FEEDBACK = "feedback"  # "more / less like this" on a paper of a digest, nothing else


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


class TokenMaker:
    """`make_token` for a million readers: the same tokens, byte for byte, cheaper.

    `TimestampSigner.sign` derives the purpose's HMAC key from SECRET_KEY and base62-encodes
    the clock on every call; this derives the key once (as `django.utils.crypto.salted_hmac`
    does: sha256 of salt + "signer" + SECRET_KEY), keeps the HMAC state to copy, and encodes
    the timestamp once a second. Same salt, key, algorithm (sha256) and format
    ("<hex>:<base62 time>:<urlsafe base64 mac>"), so `read_token` accepts what it makes.
    """

    def __init__(self, purpose: Purpose) -> None:
        key = hashlib.sha256((_salt(purpose) + "signer" + settings.SECRET_KEY).encode()).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._second, self._stamp = -1, ""

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, signing.b62_encode(now)
        return self._stamp

    def token(self, token_key: uuid.UUID) -> str:
        """The token `make_token` gives a reader with this token_key, at this second."""
        signed = f"{token_key.hex}:{self._timestamp()}"
        mac = self._mac.copy()
        mac.update(signed.encode())
        return f"{signed}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


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
