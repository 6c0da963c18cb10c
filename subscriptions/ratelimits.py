"""Sign-up rate limits per IP and per address (django-ratelimit on the default cache)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from subscriptions.clientip import client_ip
from subscriptions.emails import email_hash


def signup_ip_limited(request: HttpRequest) -> bool:
    """Count this sign-up POST against the client IP (behind TRUSTED_PROXIES, the forwarded
    client's); True once SIGNUP_RATE_PER_IP is exceeded."""
    return is_ratelimited(
        request,
        group="signup-ip",
        key=lambda _group, req: client_ip(req) or "unknown",
        rate=settings.SIGNUP_RATE_PER_IP,
        method="POST",
        increment=True,
    )


def signup_email_limited(request: HttpRequest, email: str) -> bool:
    """Count a sign-up for `email`; True once SIGNUP_RATE_PER_EMAIL is exceeded."""
    return is_ratelimited(
        request,
        group="signup-email",
        key=lambda _group, _request: email_hash(email),
        rate=settings.SIGNUP_RATE_PER_EMAIL,
        method="POST",
        increment=True,
    )
