"""Send claimed deliveries: one connection (or one ESP batch call) per chunk.

Exactly once (docs/reliability.md): a chunk first claims its rows with a conditional update
(queued → sending) under its owner's token (the send task's id); a row another sender
claimed, or already sent, is left alone, and only the owner writes an outcome. Per message,
rows go out in id order and each outcome is written (retrying through a database restart)
before the next send, so a dead sender leaves at most one row in doubt. Batch mode writes
rejections at once and a chunk's accepted recipients in one write at its end.

What a failure means is digest.daily.send_errors's call: not sent (the row goes back to
`queued`: retried with backoff, then by later runs until the reader's day ends), never
(`failed`), or unknown (`uncertain`: never re-sent blindly, see digest.daily.healing).
Failed and unknown ESP calls feed the circuit breaker (digest.daily.breaker); once it opens,
the rest of the chunk is given back unsent. If the task is interrupted (its soft time
limit), the call in flight is `uncertain` and the rows not yet tried are given back.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Protocol

from anymail.message import AnymailMessage
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone

from config.logcontext import log_context
from digest.daily import breaker, storage
from digest.daily.assembly import Merged, assemble, load_papers, merged
from digest.daily.collection import rare_collections
from digest.daily.edition_rows import FIELDS as EDITION_FIELDS
from digest.daily.edition_rows import EditionRow, edition_rows
from digest.daily.healing import HealReport, settle_claim
from digest.daily.lists import Bundle, PersonalList, list_for
from digest.daily.rendering import RenderedDigest, merge_fields, personalize
from digest.daily.send_errors import SendVerdict, TransientSendError, send_verdict
from digest.models import Delivery, Edition
from subscriptions.links import LinkMaker
from subscriptions.messages import build_message, unsubscribe_headers

logger = logging.getLogger(__name__)

DIGEST_TAG = "digest"
_REJECTED = {"rejected", "invalid"}


def is_transient(error: BaseException) -> bool:
    """True for errors worth retrying (not sent, and may work later)."""
    return send_verdict(error) is SendVerdict.RETRY


class Addressee(Protocol):
    """Whom a digest is addressed to: a Subscriber, or the Recipient of a claimed row."""

    @property
    def email(self) -> str: ...
    @property
    def token_key(self) -> uuid.UUID: ...


def build_digest_message(
    *,
    rendered_or_edition: RenderedDigest | Edition | PersonalList,
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
        list_id=list_id_for(getattr(item, "frequency", "")),
    )


def list_id_for(frequency: str) -> str:
    """The weekly digest is a list of its own; everything else is the daily one."""
    return settings.LIST_ID_WEEKLY if frequency == "weekly" else settings.LIST_ID


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
    uncertain: int = 0
    # Rows to retry soon (a retry of the task, with backoff).
    retry_ids: list[int] = field(default_factory=list)
    # Rows given back unsent because the ESP's circuit breaker opened: wait this long.
    released_ids: list[int] = field(default_factory=list)
    breaker_wait: float = 0.0


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


def new_token() -> str:
    """A claim owner's token for a send that is not a Celery task (commands, tests)."""
    return uuid.uuid4().hex


def claim(delivery_ids: Sequence[int], token: str | None = None) -> list[Claimed]:
    """Move queued rows to `sending` under `token`; return exactly the rows this call claimed
    (a row another sender claimed, or already sent, is left alone: see
    digest.daily.storage.claim). A queued row without an edition cannot be sent: it is marked
    failed, never retried."""
    token = token or new_token()
    claimed = []
    now = timezone.now()
    for pk, attempts, edition_id, sid, email, key in storage.claim(delivery_ids, now=now, token=token):
        if edition_id is None:
            logger.error("delivery %s was queued without an edition: marked failed", pk)
            storage.record_outcome(
                pk, status=Delivery.Status.FAILED, now=now, token=token, error="queued without an edition"
            )
            continue
        claimed.append(Claimed(pk, attempts, edition_id, Recipient(sid, email, key)))
    return claimed


REJECTED = "recipient rejected by the ESP"

# Seconds between tries of an outcome write while the database is away (about a minute in all).
WRITE_BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def durably(write: Callable[[], object]) -> object:
    """Run a write; while the database is unreachable (restart, failover, killed backend),
    reconnect and try again with backoff (WRITE_BACKOFF), so a message that went out is
    recorded once. Conditional writes make a repeat harmless."""
    for pause in (*WRITE_BACKOFF, None):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if db_connection.in_atomic_block or pause is None:
                raise
            logger.warning("database unreachable while recording a send: retrying in %.1f s", pause)
            db_connection.close()
            time.sleep(pause)
    raise AssertionError("unreachable")


def describe(error: BaseException) -> str:
    """A one-line description of a send error (never raises, even for odd exceptions)."""
    try:
        text = str(error)
    except Exception:
        text = ""
    status = getattr(error, "status_code", None)
    prefix = f"{type(error).__name__}" + (f" (status {status})" if status else "")
    return " ".join(f"{prefix}: {text}".split())[:2000]


def _message_id(message: AnymailMessage) -> tuple[str, bool]:
    """(ESP message id, rejected?) from anymail_status, or our own Message-ID for plain backends."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.status:
        esp_id = "" if status.message_id is None else str(status.message_id)
        return esp_id or message.extra_headers.get("Message-ID", ""), status.status <= _REJECTED
    return message.extra_headers.get("Message-ID", ""), False


class _Chunk:
    """One claim's sending: the owner's token, the outcomes so far, the rows not yet tried."""

    def __init__(self, deliveries: Sequence[Claimed], token: str) -> None:
        self.token = token
        self.result = ChunkResult()
        self.untried = {d.pk for d in deliveries}

    def record(self, delivery: Claimed, *, outcome: str, message_id: str = "", error: str = "") -> None:
        """Write one row's outcome (only while it is still this claim's `sending` row)."""
        self.untried.discard(delivery.pk)
        now = timezone.now()
        durably(
            lambda: storage.record_outcome(
                delivery.pk, status=outcome, now=now, token=self.token, error=error, message_id=message_id
            )
        )

    def esp_accepted(self) -> None:
        breaker.record_success()

    def failed_call(self, group: Sequence[Claimed], error: BaseException) -> bool:
        """Record an ESP call that failed for `group`; True when sending must stop (breaker open)."""
        verdict = send_verdict(error)
        for delivery in group:
            if verdict is SendVerdict.UNKNOWN:
                self.record(
                    delivery, outcome=Delivery.Status.UNCERTAIN, error=f"outcome unknown: {describe(error)}"
                )
                self.result.uncertain += 1
            elif verdict is SendVerdict.RETRY:
                self._retry_later(delivery, error)
            else:
                self.record(delivery, outcome=Delivery.Status.FAILED, error=describe(error))
                self.result.failed += 1
                logger.warning("delivery %s failed: %s", delivery.pk, describe(error))
        if verdict is SendVerdict.PERMANENT:
            return False
        return breaker.record_failure()

    def _retry_later(self, delivery: Claimed, error: BaseException) -> None:
        if delivery.attempts < settings.DIGEST_MAX_ATTEMPTS:
            self.record(delivery, outcome=Delivery.Status.QUEUED, error=f"will retry: {describe(error)}")
            self.result.retry_ids.append(delivery.pk)
        else:  # later runs take it (digest.daily.healing) until the reader's day ends
            self.record(
                delivery, outcome=Delivery.Status.QUEUED, error=f"left for a later run: {describe(error)}"
            )

    def give_back(self, note: str) -> None:
        """Release the rows never tried (queued again, their attempt not counted)."""
        ids = sorted(self.untried)
        self.untried.clear()
        if ids:
            now = timezone.now()
            durably(lambda: storage.release(ids, now=now, token=self.token, note=note))
            self.result.released_ids += ids

    def stop_for_breaker(self) -> None:
        self.give_back("the ESP's circuit breaker opened before this row was sent")
        self.result.breaker_wait = breaker.seconds_left()


def _interrupted(chunk: _Chunk, in_flight: Sequence[Claimed], error: BaseException) -> None:
    """The task is being stopped (soft time limit, shutdown) mid-chunk: the call in flight may
    have gone out; the rows never tried go back to the queue."""
    logger.warning(
        "send interrupted (%s): %d in flight, %d untried", describe(error), len(in_flight), len(chunk.untried)
    )
    for delivery in in_flight:
        if delivery.pk in chunk.untried:
            chunk.record(delivery, outcome=Delivery.Status.UNCERTAIN, error=f"interrupted: {describe(error)}")
            chunk.result.uncertain += 1
    chunk.give_back("the send was interrupted before this row was sent")


def send_claimed(
    deliveries: Sequence[Claimed], items: Mapping[int, Edition | PersonalList], token: str
) -> ChunkResult:
    """Send one message per claimed delivery (`items`: what each delivery id sends, an edition
    or the reader's personal list), in id order, over one connection; record each outcome
    before the next send."""
    chunk = _Chunk(deliveries, token)
    connection = get_connection()
    try:
        connection.open()
    except Exception as error:
        if chunk.failed_call(deliveries, TransientSendError(f"connection failed: {describe(error)}")):
            chunk.result.breaker_wait = breaker.seconds_left()
        return chunk.result
    links = LinkMaker()
    in_flight: list[Claimed] = []
    try:
        for delivery in sorted(deliveries, key=lambda d: d.pk):
            with log_context(deliveries=delivery.pk):
                try:
                    message = build_digest_message(
                        rendered_or_edition=items[delivery.pk],
                        subscriber=delivery.subscriber,
                        delivery_id=delivery.pk,
                        connection=connection,
                        links=reader_links(links, delivery.subscriber.token_key),
                    )
                except SoftTimeLimitExceeded:
                    raise
                except Exception as error:  # a bad row (e.g. an unusable address) fails alone
                    logger.exception("delivery %s could not be built", delivery.pk)
                    chunk.record(delivery, outcome=Delivery.Status.FAILED, error=describe(error))
                    chunk.result.failed += 1
                    continue
                in_flight = [delivery]
                try:
                    message.send()
                except SoftTimeLimitExceeded:
                    raise
                except Exception as error:
                    in_flight = []
                    if chunk.failed_call([delivery], error):
                        chunk.stop_for_breaker()
                        break
                    continue
                in_flight = []
                chunk.esp_accepted()
                message_id, rejected = _message_id(message)
                if rejected:
                    chunk.record(delivery, outcome=Delivery.Status.FAILED, error=REJECTED)
                    chunk.result.failed += 1
                else:
                    chunk.record(delivery, outcome=Delivery.Status.SENT, message_id=message_id)
                    chunk.result.sent += 1
    except BaseException as error:  # SoftTimeLimitExceeded, shutdown
        _interrupted(chunk, in_flight, error)
        raise
    finally:
        connection.close()
    return chunk.result


def send_batch(deliveries: Sequence[Claimed], editions: Mapping[int, EditionRow], token: str) -> ChunkResult:
    """One ESP call per shared edition in the chunk, and one per PERSONAL_BATCH readers of
    personal lists (their cards in the merge data), with per-recipient merge_data / headers /
    metadata. Rejections are written at once; accepted recipients in one write at the end."""
    chunk = _Chunk(deliveries, token)
    lists, deliveries = _lists(deliveries, editions, chunk)
    groups: dict[tuple[str, object, str] | int, list[Claimed]] = {}
    load_papers(list(lists.values()))  # one query; merge data per batch below
    for delivery in deliveries:
        edition = editions[delivery.edition_id]
        key: tuple[str, object, str] | int = (
            ("personal", edition.digest_date, edition.frequency) if edition.personal else edition.pk
        )
        groups.setdefault(key, []).append(delivery)
    links = LinkMaker()
    sent: list[tuple[int, str]] = []
    in_flight: list[Claimed] = []
    try:
        for key, group in groups.items():
            size = settings.DIGEST_PERSONAL_BATCH if isinstance(key, tuple) else len(group)
            for start in range(0, len(group), size):
                batch = group[start : start + size]
                with log_context(deliveries=[d.pk for d in batch]):
                    personal = merged(lists[d.pk] for d in batch) if isinstance(key, tuple) else {}
                    message = _batch_message(batch, editions, personal, links)
                    in_flight = batch
                    try:
                        message.send()
                    except SoftTimeLimitExceeded:
                        raise
                    except Exception as error:  # the ESP call failed for the whole group
                        in_flight = []
                        if chunk.failed_call(batch, error):
                            chunk.stop_for_breaker()
                            raise _BreakerOpen from None
                        continue
                    in_flight = []
                    chunk.esp_accepted()
                    _record_batch(batch, message, chunk, sent)
    except _BreakerOpen:
        pass
    except BaseException as error:  # SoftTimeLimitExceeded, shutdown: keep what is known
        _mark_sent(sent, chunk.token)
        _interrupted(chunk, in_flight, error)
        raise
    _mark_sent(sent, chunk.token)
    return chunk.result


class _BreakerOpen(Exception):
    """Internal: leave the batch loops."""


MISSING_LIST = "the reader's personal list is missing from its edition"


def _lists(
    deliveries: Sequence[Claimed], editions: Mapping[int, Bundle], chunk: _Chunk
) -> tuple[dict[int, PersonalList], list[Claimed]]:
    """Each delivery's personal list, by delivery id (deliveries of shared editions have none),
    and the deliveries that can be sent. A delivery whose list is missing (its row was changed
    by hand) cannot be sent: failed."""
    found: dict[int, PersonalList] = {}
    sendable: list[Claimed] = []
    for d in deliveries:
        edition = editions[d.edition_id]
        item = list_for(edition, d.subscriber.pk) if edition.personal else None
        if edition.personal and item is None:
            logger.error("delivery %s: %s", d.pk, MISSING_LIST)
            chunk.record(d, outcome=Delivery.Status.FAILED, error=MISSING_LIST)
            chunk.result.failed += 1
            continue
        if item is not None:
            found[d.pk] = item
        sendable.append(d)
    return found, sendable


def _batch_message(
    group: Sequence[Claimed],
    editions: Mapping[int, EditionRow],
    personal: dict[int, Merged],
    links: LinkMaker,
) -> AnymailMessage:
    """The ESP call for readers of one shared edition, or of personal lists of one day."""
    first = editions[group[0].edition_id]
    field = settings.DIGEST_MERGE_FIELD
    if first.personal:
        (html, text), _, _ = personal[group[0].subscriber.pk]
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
            _, own, cards = personal[d.subscriber.pk]
            data.update(own)
            data.update(cards.merge_data(feedback))
        message.merge_data[d.subscriber.email] = data
        list_id = list_id_for(editions[d.edition_id].frequency)
        message.merge_headers[d.subscriber.email] = unsubscribe_headers(unsub, list_id=list_id)
        message.merge_metadata[d.subscriber.email] = {"delivery_id": str(d.pk)}
    return message


def _record_batch(
    group: Sequence[Claimed], message: AnymailMessage, chunk: _Chunk, sent: list[tuple[int, str]]
) -> None:
    """Rejected recipients are marked failed now; accepted ones join `sent` (see _mark_sent)."""
    recipients = message.anymail_status.recipients
    for d in group:
        status = recipients.get(d.subscriber.email)
        if status is not None and status.status in _REJECTED:
            chunk.record(d, outcome=Delivery.Status.FAILED, error=f"recipient {status.status} by the ESP")
            chunk.result.failed += 1
        else:
            chunk.untried.discard(d.pk)
            esp_id = status.message_id if status is not None else None
            sent.append((d.pk, "" if esp_id is None else str(esp_id)[:200]))
            chunk.result.sent += 1


def _mark_sent(sent: Sequence[tuple[int, str]], token: str) -> None:
    """Record a chunk's accepted recipients (one write on PostgreSQL: see storage.mark_sent)."""
    if sent:
        now = timezone.now()
        durably(lambda: storage.mark_sent(sent, now=now, token=token))


def adopt_own_claim(delivery_ids: Sequence[int], token: str) -> None:
    """A task Celery hands out again (its worker died) finds its earlier run's rows still
    `sending` under its own id: that run is dead, so they are settled now, as healing would
    after the lease (digest.daily.healing.settle_claim), instead of an hour later."""
    left = list(
        Delivery.objects.filter(
            pk__in=list(delivery_ids), status=Delivery.Status.SENDING, claim_token=token
        ).values_list("pk", flat=True)
    )
    if left:
        settle_claim(token, left, now=timezone.now(), report=HealReport())


def send_chunk(delivery_ids: Sequence[int], token: str | None = None, *, again: bool = False) -> ChunkResult:
    """Claim and send these deliveries under `token` (the send task's id; DIGEST_SEND_MODE
    decides per-message or batch). Nothing is claimed while the ESP's breaker is open.
    `again`: this task ran before (a retry, or Celery handed it out again after its worker
    died), so its own earlier claim is settled first; a first run has none to look for."""
    token = token or new_token()
    with log_context(chunk=token, deliveries=delivery_ids), rare_collections():
        if again:
            adopt_own_claim(delivery_ids, token)
        wait = breaker.wait_seconds()
        if wait > 0:
            logger.info("ESP breaker open: chunk handed back for %.0f s", wait)
            return ChunkResult(released_ids=list(delivery_ids), breaker_wait=wait)
        deliveries = claim(delivery_ids, token)
        if not deliveries:
            return ChunkResult()
        result = send_claim(deliveries, token)
        logger.info(
            "chunk sent: %d sent, %d failed, %d uncertain, %d to retry",
            result.sent, result.failed, result.uncertain, len(result.retry_ids),
        )  # fmt: skip
        return result


def send_claim(deliveries: Sequence[Claimed], token: str) -> ChunkResult:
    """Send rows already claimed under `token` (DIGEST_SEND_MODE decides how)."""
    wanted = {d.edition_id for d in deliveries}
    if settings.DIGEST_SEND_MODE == "batch":
        return send_batch(deliveries, edition_rows(wanted), token)
    editions = Edition.objects.only(*EDITION_FIELDS).in_bulk(wanted)
    chunk = _Chunk(deliveries, token)
    lists, sendable = _lists(deliveries, editions, chunk)
    items: dict[int, Edition | PersonalList] = {
        d.pk: lists.get(d.pk) or editions[d.edition_id] for d in sendable
    }
    assemble(items.values())  # personal lists: their cards put together here
    result = send_claimed(sendable, items, token)
    result.failed += chunk.result.failed
    return result
