"""Personal links for a million recipients: the same URLs as subscriptions.links, cheaper.

`LinkMaker` derives each purpose's HMAC key once and reverses each URL once, then
signs a token with one HMAC copy per link; the tokens are byte-for-byte those of
subscriptions.tokens.make_token (same salt, key, algorithm and timestamp format).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.core.signing import b62_encode
from django.urls import reverse

from subscriptions.links import absolute
from subscriptions.tokens import Purpose, _salt

_MARK = "PAPERBOYTOKEN"


class _Signer:
    def __init__(self, purpose: Purpose) -> None:
        salt = _salt(purpose) + "signer"
        key = hashlib.sha256((salt + settings.SECRET_KEY).encode()).digest()
        self._base = hmac.new(key, digestmod=hashlib.sha256)

    def sign(self, value: str, stamp: str) -> str:
        signed = f"{value}:{stamp}"
        mac = self._base.copy()
        mac.update(signed.encode())
        return f"{signed}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"


class LinkMaker:
    """preferences / unsubscribe URLs for a token_key, as subscriptions.links builds them."""

    def __init__(self) -> None:
        self._signers = {p: _Signer(p) for p in (Purpose.MANAGE, Purpose.UNSUBSCRIBE)}
        self._urls = {
            Purpose.MANAGE: absolute(reverse("subscriptions:preferences", args=[_MARK])).split(_MARK),
            Purpose.UNSUBSCRIBE: absolute(reverse("subscriptions:unsubscribe", args=[_MARK])).split(_MARK),
        }
        self._stamp_at, self._stamp = 0, ""

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._stamp_at:
            self._stamp_at, self._stamp = now, b62_encode(now)
        return self._stamp

    def _url(self, purpose: Purpose, token_key: object) -> str:
        head, tail = self._urls[purpose]
        value = token_key.hex if hasattr(token_key, "hex") else str(token_key).replace("-", "")
        return f"{head}{self._signers[purpose].sign(value, self._timestamp())}{tail}"

    def links(self, token_key: object) -> tuple[str, str]:
        """(preferences_url, unsubscribe_url) for the reader with this token_key."""
        return self._url(Purpose.MANAGE, token_key), self._url(Purpose.UNSUBSCRIBE, token_key)
