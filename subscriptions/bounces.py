"""Hard or soft: what a failed delivery says about the address, whichever ESP reported it.

anymail normalizes every ESP's events, but not to one meaning: Postmark's, SES's and Brevo's
soft bounces all arrive as `bounced` (the same as a hard one), Mailgun's and SendGrid's
temporary failures as `deferred`. So the decision reads anymail's normalized fields, then
the ESP's own verdict where anymail keeps it only in the raw payload, then the SMTP reply,
and stops at the first that is conclusive:

1. `event_type`: `deferred` is soft; anything but `bounced`/`rejected` is no bounce at all.
2. `rejected` (the ESP refused to send): hard only when the address is invalid or already
   on the ESP's bounce list; a block for policy or content says nothing about the address.
3. `reject_reason`: `timed_out` (the receiver could not be reached for days) is soft,
   `invalid` is hard.
4. The ESP's own classification (`ESP_VERDICTS`: Postmark's Type, SES's bounceType, Brevo's
   hard_bounce / soft_bounce, SparkPost's bounce_class, Mailjet's hard_bounce, SendGrid's
   type, Mailgun's severity): it saw the whole exchange and the retries.
5. The SMTP status in `mta_response` (or `description`), for the ESPs without one: 4.x.x is
   soft; 5.1.x (no such user or domain), 5.2.1 (mailbox disabled), 5.4.4 (no route) and
   5.0.0 are hard; other 5.x.x (mailbox full, message too big, policy and spam blocks) are
   soft. A reply with only a basic code counts 5xx as hard, 552 (storage) and 4xx as soft.
6. `reject_reason` blocked / spam / other: soft (the receiver refused this mail, not the
   address). Otherwise hard.

A soft bounce counts; SOFT_BOUNCE_LIMIT in a row (no delivery between) suppress the
reader, so an address that never recovers stops being mailed either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from anymail.signals import EventType, RejectReason


class Bounce(StrEnum):
    HARD = "hard"
    SOFT = "soft"


_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"^\s*(?:smtp\s*;\s*)?([245])(\d\d)(?!\d)", re.IGNORECASE)
# Enhanced status codes (RFC 3463, class 5) that mean the address itself is gone.
_HARD_ENHANCED = {"1", "2.1", "4.4", "0.0"}


def smtp_verdict(text: str | None) -> Bounce | None:
    """Hard, soft, or None when `text` (an MTA's reply) carries no failure status."""
    if not text:
        return None
    enhanced = _ENHANCED.search(text)
    if enhanced:
        klass, subject, detail = enhanced.groups()
        if klass == "2":
            return None
        if klass == "4":
            return Bounce.SOFT
        return (
            Bounce.HARD
            if subject in _HARD_ENHANCED or f"{subject}.{detail}" in _HARD_ENHANCED
            else Bounce.SOFT
        )
    basic = _BASIC.search(text)
    if basic:
        klass, rest = basic.groups()
        if klass == "2":
            return None
        if klass == "4" or rest == "52":
            return Bounce.SOFT
        return Bounce.HARD
    return None


def _get(raw: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(raw, Mapping):
            return None
        raw = raw.get(key)
    return raw


def _postmark(raw: Any) -> Bounce | None:
    kind = _get(raw, "Type")
    if kind in {"SoftBounce", "Transient", "DnsError"}:
        return Bounce.SOFT
    return Bounce.HARD if kind in {"HardBounce", "BadEmailAddress"} else None


def _amazon_ses(raw: Any) -> Bounce | None:
    kind = _get(raw, "bounce", "bounceType")
    if kind in {"Transient", "Undetermined"}:
        return Bounce.SOFT
    return Bounce.HARD if kind == "Permanent" else None


def _brevo(raw: Any) -> Bounce | None:
    kind = _get(raw, "event")
    if kind == "soft_bounce":
        return Bounce.SOFT
    return Bounce.HARD if kind in {"hard_bounce", "invalid_email"} else None


def _sparkpost(raw: Any) -> Bounce | None:
    events = raw if isinstance(raw, list) else [raw]
    for item in events:
        bounce_class = _get(item, "msys", "message_event", "bounce_class")
        if bounce_class is not None:
            # 10 invalid recipient, 30 no RCPT; the rest are soft, blocks or auto-replies.
            return Bounce.HARD if str(bounce_class) in {"10", "30"} else Bounce.SOFT
    return None


def _mailjet(raw: Any) -> Bounce | None:
    hard = _get(raw, "hard_bounce")
    return None if hard is None else (Bounce.HARD if hard is True else Bounce.SOFT)


def _sendgrid(raw: Any) -> Bounce | None:
    kind = _get(raw, "type")
    if kind == "blocked":
        return Bounce.SOFT
    return Bounce.HARD if kind == "bounce" else None


def _mailgun(raw: Any) -> Bounce | None:
    severity = _get(raw, "event-data", "severity")
    if severity == "temporary":
        return Bounce.SOFT
    return Bounce.HARD if severity == "permanent" else None


# anymail's esp_name (lower case) → the ESP's own hard/soft verdict in its raw payload.
ESP_VERDICTS: dict[str, Callable[[Any], Bounce | None]] = {
    "postmark": _postmark,
    "amazon ses": _amazon_ses,
    "brevo": _brevo,
    "sendinblue": _brevo,
    "sparkpost": _sparkpost,
    "mailjet": _mailjet,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
}

_ADDRESS_GONE = {RejectReason.INVALID, RejectReason.BOUNCED}
_NOT_THE_ADDRESS = {RejectReason.BLOCKED, RejectReason.SPAM, RejectReason.OTHER}


def classify(
    *,
    event_type: str | None,
    reject_reason: str | None,
    mta_response: str | None,
    description: str | None,
    esp_name: str,
    raw: Any,
) -> Bounce | None:
    """Hard, soft, or None (not a bounce), by the rules in the module docstring."""
    if event_type == EventType.DEFERRED:
        return Bounce.SOFT
    if event_type == EventType.REJECTED:
        return Bounce.HARD if reject_reason in _ADDRESS_GONE else None
    if event_type != EventType.BOUNCED:
        return None
    if reject_reason == RejectReason.TIMED_OUT:
        return Bounce.SOFT
    if reject_reason == RejectReason.INVALID:
        return Bounce.HARD
    esp_verdict = ESP_VERDICTS.get(esp_name.strip().lower())
    verdict = esp_verdict(raw) if esp_verdict else None
    if verdict is None:
        verdict = smtp_verdict(mta_response) or smtp_verdict(description)
    if verdict is None:
        verdict = Bounce.SOFT if reject_reason in _NOT_THE_ADDRESS else Bounce.HARD
    return verdict
