"""Send claimed deliveries: one connection (or one ESP batch call) per chunk.

Exactly once: a chunk first claims its rows with a conditional update
(queued → sending); a row another worker claimed, or already sent, is left
alone. Each message's outcome is written as soon as it is known (batch mode:
rejections at once, a chunk's accepted recipients in one write at its end). A failing
message never stops the rest of its chunk: transient errors put the row back
to `queued` for a retry with backoff, permanent ones mark it `failed`.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Protocol

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone

from digest.daily import storage
from digest.daily.assembly import assemble, merged
from digest.daily.rendering import PLACEHOLDERS, RenderedDigest, merge_fields, personalize
from digest.models import Delivery, Edition
from subscriptions.links import LinkMaker
from subscriptions.messages import build_message, unsubscribe_headers

logger = logging.getLogger(__name__)

DIGEST_TAG = "digest"
_EDITION_FIELDS = (
    "pk",
    "subject",
    "preheader",
    "html",
    "text",
    "personal",
    "reasons",
    "paper_ids",
    "digest_date",
    "frequency",
    "slug",
)
_REJECTED = {"rejected", "invalid"}


class TransientSendError(Exception):
    """Try again later: the ESP or the network failed for a while."""


def is_transient(error: BaseException) -> bool:
    """True for errors worth retrying: timeouts, 5xx, 429, temporary SMTP codes."""
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress | smtplib.SMTPRecipientsRefused):
        return False
    if isinstance(error, AnymailAPIError):
        return error.status_code is None or error.status_code == 429 or error.status_code >= 500
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, TransientSendError | smtplib.SMTPServerDisconnected | OSError | TimeoutError)


class Addressee(Protocol):
    """Whom a digest is addressed to: a Subscriber, or the Recipient of a claimed row."""

    @property
    def email(self) -> str: ...
    @property
    def token_key(self) -> uuid.UUID: ...


def build_digest_message(
    *,
    rendered_or_edition: RenderedDigest | Edition,
    subscriber: Addressee,
    delivery_id: int | None = None,
    test: bool = False,
    connection: BaseEmailBackend | None = None,
    links: tuple[str, str, str] | None = None,
) -> AnymailMessage:
    """One reader's digest: their links filled in, unsubscribe headers, tag and delivery metadata.

    `links` (preferences, unsubscribe, feedback token) are the reader's own; a sender passes
    them from the LinkMaker it keeps for its chunk, else one is made here."""
    prefs, unsub, feedback = links or reader_links(LinkMaker(), subscriber.token_key)
    item = rendered_or_edition
    metadata = {"delivery_id": str(delivery_id)} if delivery_id else {}
    if test:
        metadata["test"] = "1"
    return build_message(
        subject=("[TEST] " if test else "") + item.subject,
        text=personalize(item.text, preferences_url=prefs, unsubscribe_url=unsub, feedback_token=feedback),
        html=personalize(item.html, preferences_url=prefs, unsubscribe_url=unsub, feedback_token=feedback),
        to=subscriber.email,
        from_email=settings.DIGEST_FROM_EMAIL,
        unsubscribe_url=unsub,
        tags=["test"] if test else [DIGEST_TAG],
        metadata=metadata,
        headers={"Message-ID": make_msgid(domain=_message_domain())},
        connection=connection,
    )


def reader_links(maker: LinkMaker, token_key: uuid.UUID) -> tuple[str, str, str]:
    """(preferences URL, unsubscribe URL, feedback token) of one reader."""
    prefs, unsub = maker.links(token_key)
    return prefs, unsub, maker.feedback_token(token_key)


def _message_domain() -> str:
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "paperboy.localhost"


@dataclass
class ChunkResult:
    sent: int = 0
    failed: int = 0
    retry_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """The reader a claimed row is for: what a send needs, nothing more."""

    pk: int
    email: str
    token_key: uuid.UUID


@dataclass(frozen=True)
class Claimed:
    """A delivery row this sender claimed (status `sending`, attempts already counted)."""

    pk: int
    attempts: int
    edition_id: int
    subscriber: Recipient


def claim(delivery_ids: Sequence[int]) -> list[Claimed]:
    """Move queued rows to `sending`; return exactly the rows this call claimed (a row another
    sender claimed, or already sent, is left alone: see digest.daily.storage.claim). A queued
    row without an edition cannot be sent: it is marked failed, never retried."""
    claimed = []
    now = timezone.now()
    for pk, attempts, edition_id, sid, email, token in storage.claim(delivery_ids, now=now):
        if edition_id is None:
            logger.error("delivery %s was queued without an edition: marked failed", pk)
            storage.record_outcome(
                pk, status=Delivery.Status.FAILED, now=now, error="queued without an edition"
            )
            continue
        claimed.append(Claimed(pk, attempts, edition_id, Recipient(sid, email, token)))
    return claimed


def _record(delivery: Claimed, *, outcome: str, message_id: str = "", error: str = "") -> None:
    """Write one row's outcome (only while it is still this sender's `sending` row)."""
    now = timezone.now()
    _reconnecting(
        lambda: storage.record_outcome(
            delivery.pk, status=outcome, now=now, error=error, message_id=message_id
        )
    )


def _reconnecting(write: Callable[[], object]) -> object:
    """Run a write; if the database dropped the connection (restart, failover, killed
    backend), reconnect and write once more, so a message that went out is recorded."""
    try:
        return write()
    except (OperationalError, InterfaceError):
        if db_connection.in_atomic_block:
            raise
        logger.warning("database connection lost while recording a send: reconnecting")
        db_connection.close()
        return write()


def describe(error: BaseException) -> str:
    """A one-line description of a send error (never raises, even for odd exceptions)."""
    try:
        text = str(error)
    except Exception:
        text = ""
    status = getattr(error, "status_code", None)
    prefix = f"{type(error).__name__}" + (f" (status {status})" if status else "")
    return " ".join(f"{prefix}: {text}".split())[:2000]


def _fail_or_retry(delivery: Claimed, error: BaseException, result: ChunkResult) -> None:
    if is_transient(error) and delivery.attempts < settings.DIGEST_MAX_ATTEMPTS:
        _record(delivery, outcome=Delivery.Status.QUEUED, error=f"will retry: {describe(error)}")
        result.retry_ids.append(delivery.pk)
    else:
        _record(delivery, outcome=Delivery.Status.FAILED, error=describe(error))
        result.failed += 1
        logger.warning("delivery %s failed: %s", delivery.pk, describe(error))


def _message_id(message: AnymailMessage) -> tuple[str, bool]:
    """(ESP message id, rejected?) from anymail_status, or our own Message-ID for plain backends."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.status:
        esp_id = "" if status.message_id is None else str(status.message_id)
        return esp_id or message.extra_headers.get("Message-ID", ""), status.status <= _REJECTED
    return message.extra_headers.get("Message-ID", ""), False


def send_claimed(deliveries: Sequence[Claimed], editions: dict[int, Edition]) -> ChunkResult:
    """Send one message per claimed delivery over one connection; record each outcome."""
    result = ChunkResult()
    connection = get_connection()
    try:
        connection.open()
    except Exception as error:
        for delivery in deliveries:
            _fail_or_retry(delivery, TransientSendError(f"connection failed: {describe(error)}"), result)
        return result
    links = LinkMaker()
    try:
        for delivery in deliveries:
            try:
                message = build_digest_message(
                    rendered_or_edition=editions[delivery.edition_id],
                    subscriber=delivery.subscriber,
                    delivery_id=delivery.pk,
                    connection=connection,
                    links=reader_links(links, delivery.subscriber.token_key),
                )
                message.send()
            except (AnymailError, smtplib.SMTPException, OSError, TimeoutError) as error:
                _fail_or_retry(delivery, error, result)
                continue
            except Exception as error:  # a bad row (e.g. an unusable address) fails alone
                logger.exception("delivery %s could not be built or sent", delivery.pk)
                _fail_or_retry(delivery, error, result)
                continue
            message_id, rejected = _message_id(message)
            if rejected:
                _record(delivery, outcome=Delivery.Status.FAILED, error="recipient rejected by the ESP")
                result.failed += 1
            else:
                _record(delivery, outcome=Delivery.Status.SENT, message_id=message_id)
                result.sent += 1
    finally:
        connection.close()
    return result


def send_batch(deliveries: Sequence[Claimed], editions: dict[int, Edition]) -> ChunkResult:
    """One ESP call per shared edition in the chunk, and one per PERSONAL_BATCH readers of
    personal editions (their cards in the merge data), with per-recipient merge_data / headers /
    metadata. Rejections are written at once; accepted recipients in one write at the end."""
    result = ChunkResult()
    groups: dict[tuple[str, object, str] | int, list[Claimed]] = {}
    personal = merged(e for e in editions.values() if e.personal)
    for delivery in deliveries:
        edition = editions[delivery.edition_id]
        key: tuple[str, object, str] | int = (
            ("personal", edition.digest_date, edition.frequency) if edition.personal else edition.pk
        )
        groups.setdefault(key, []).append(delivery)
    links = LinkMaker()
    sent: list[tuple[int, str]] = []
    for key, group in groups.items():
        size = settings.DIGEST_PERSONAL_BATCH if isinstance(key, tuple) else len(group)
        for start in range(0, len(group), size):
            batch = group[start : start + size]
            message = _batch_message(batch, editions, personal, links)
            try:
                message.send()
            except Exception as error:  # the ESP call failed for the whole group
                for d in batch:
                    _fail_or_retry(d, error, result)
                continue
            _record_batch(batch, message, result, sent)
    _mark_sent(sent)
    return result


def _batch_message(
    group: Sequence[Claimed],
    editions: dict[int, Edition],
    personal: dict[int, tuple[tuple[str, str], dict[str, str]]],
    links: LinkMaker,
) -> AnymailMessage:
    """The ESP call for readers of one shared edition, or of personal editions of one day."""
    first = editions[group[0].edition_id]
    field = settings.DIGEST_MERGE_FIELD
    if first.personal:
        (html, text), _ = personal[first.pk]
        subject = field.replace("NAME", "subject")
    else:
        html, text, subject = merge_fields(first.html), merge_fields(first.text), first.subject
    message = AnymailMessage(
        subject=subject,
        body=text,
        from_email=settings.DIGEST_FROM_EMAIL,
        to=[d.subscriber.email for d in group],
        tags=[DIGEST_TAG],
    )
    message.attach_alternative(html, "text/html")
    message.merge_data, message.merge_headers, message.merge_metadata = {}, {}, {}
    for d in group:
        prefs, unsub, feedback = reader_links(links, d.subscriber.token_key)
        data = {"preferences_url": prefs, "unsubscribe_url": unsub, "feedback_token": feedback}
        if first.personal:  # an ESP fills no merge field inside merge data: the token goes in here
            own = personal[d.edition_id][1]
            data.update(own)
            data["cards_html"] = own["cards_html"].replace(PLACEHOLDERS["feedback_token"], feedback)
            data["cards"] = own["cards"].replace(PLACEHOLDERS["feedback_token"], feedback)
        message.merge_data[d.subscriber.email] = data
        message.merge_headers[d.subscriber.email] = unsubscribe_headers(unsub)
        message.merge_metadata[d.subscriber.email] = {"delivery_id": str(d.pk)}
    return message


def _record_batch(
    group: Sequence[Claimed], message: AnymailMessage, result: ChunkResult, sent: list[tuple[int, str]]
) -> None:
    """Rejected recipients are marked failed now; accepted ones join `sent` (see _mark_sent)."""
    recipients = message.anymail_status.recipients
    for d in group:
        status = recipients.get(d.subscriber.email)
        if status is not None and status.status in _REJECTED:
            _record(d, outcome=Delivery.Status.FAILED, error=f"recipient {status.status} by the ESP")
            result.failed += 1
        else:
            esp_id = status.message_id if status is not None else None
            sent.append((d.pk, "" if esp_id is None else str(esp_id)[:200]))
            result.sent += 1


def _mark_sent(sent: Sequence[tuple[int, str]]) -> None:
    """Record a chunk's accepted recipients (one write on PostgreSQL: see storage.mark_sent)."""
    if sent:
        now = timezone.now()
        _reconnecting(lambda: storage.mark_sent(sent, now=now))


def send_chunk(delivery_ids: Sequence[int]) -> ChunkResult:
    """Claim and send these deliveries (DIGEST_SEND_MODE decides per-message or batch)."""
    deliveries = claim(delivery_ids)
    if not deliveries:
        return ChunkResult()
    editions = Edition.objects.only(*_EDITION_FIELDS).in_bulk({d.edition_id for d in deliveries})
    if settings.DIGEST_SEND_MODE == "batch":
        return send_batch(deliveries, editions)
    assemble(editions.values())  # personal editions: their cards put together here
    return send_claimed(deliveries, editions)
