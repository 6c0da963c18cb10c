"""Where the daily run reads and writes its rows: one function per operation.

Each call goes to `postgres` (the statements that exist for speed: SKIP LOCKED claims,
array-literal inserts and updates, the due page with each reader's history) or to its
portable ORM twin `portable` (SQLite and the rest), chosen by the default connection's
vendor. Both give the same results; the daily-run modules call only what is here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet

from digest.daily.storage import portable, postgres
from digest.daily.storage.rows import ClaimedRow, DueRow, EditionIds, NewDelivery, NewEdition, ReaderDay
from digest.models import Delivery, Edition
from subscriptions.models import Subscriber

__all__ = [
    "ClaimedRow",
    "DueRow",
    "EditionIds",
    "NewDelivery",
    "NewEdition",
    "ReaderDay",
    "claim",
    "due_page",
    "insert_deliveries",
    "insert_editions",
    "mark_sent",
    "on_postgresql",
    "overlapped_writes",
    "recent_editions",
    "record_outcome",
    "release",
]


def on_postgresql() -> bool:
    """True when the default database is PostgreSQL (the fast path is in use)."""
    return connection.vendor == "postgresql"


class _Backend(Protocol):
    """What `postgres` and `portable` both provide (mypy checks each module against it)."""

    def due_page(
        self, queryset: QuerySet[Subscriber], *, after: tuple[str, int] | None, size: int, history_days: int
    ) -> list[DueRow]: ...
    def recent_editions(self, readers: Sequence[ReaderDay], *, days: int) -> dict[int, list[int]]: ...
    def insert_editions(self, new: Sequence[Edition | NewEdition]) -> EditionIds: ...
    def insert_deliveries(self, rows: Sequence[NewDelivery], *, skipped_note: str) -> list[int]: ...
    def claim(self, delivery_ids: Sequence[int], *, now: dt.datetime, token: str) -> list[ClaimedRow]: ...
    def record_outcome(
        self, delivery_id: int, *, status: str, now: dt.datetime, error: str, message_id: str, token: str
    ) -> int: ...
    def mark_sent(self, sent: Sequence[tuple[int, str]], *, now: dt.datetime, token: str) -> None: ...


def _backend() -> _Backend:
    return postgres if on_postgresql() else portable


def close_connection() -> None:
    """Close the calling thread's connection (Django keeps one per thread): what a helper
    thread that read or wrote on its own connection runs last."""
    connection.close()


def overlapped_writes() -> bool:
    """Whether Delivery rows may be written on a second connection while the next chunk is
    planned: PostgreSQL, DIGEST_OVERLAP_WRITES on, and not inside a transaction (the helper
    thread could not see its uncommitted rows)."""
    return settings.DIGEST_OVERLAP_WRITES and on_postgresql() and not connection.in_atomic_block


def due_page(queryset: QuerySet[Subscriber], *, after: tuple[str, int] | None, size: int) -> list[DueRow]:
    """Up to `size` due readers after `after` (topic key, id), ordered so, each with the
    edition ids they were sent in their no-repeat window (DIGEST_NO_REPEAT_DAYS)."""
    return _backend().due_page(queryset, after=after, size=size, history_days=settings.DIGEST_NO_REPEAT_DAYS)


def recent_editions(readers: Sequence[ReaderDay]) -> dict[int, list[int]]:
    """Edition ids each (reader, date) was sent in the no-repeat window before that date."""
    return _backend().recent_editions(readers, days=settings.DIGEST_NO_REPEAT_DAYS)


def insert_editions(new: Sequence[Edition | NewEdition]) -> EditionIds:
    """Store rendered editions (and their paper links) and rows of personal lists; a row a
    concurrent run stored first wins. Ids by (date, content key), for every edition given."""
    if not new:
        return {}
    return _backend().insert_editions(new)


def insert_deliveries(rows: Sequence[NewDelivery], *, skipped_note: str) -> list[int]:
    """Insert one Delivery row per (reader, date) — a second one is dropped by the unique
    constraint — and return the ids of the queued rows this call inserted."""
    if not rows:
        return []
    return _backend().insert_deliveries(rows, skipped_note=skipped_note)


def claim(delivery_ids: Sequence[int], *, now: dt.datetime, token: str) -> list[ClaimedRow]:
    """Move queued rows to `sending` under the claim `token` (its owner) and return exactly the
    rows this call took, by id."""
    if not delivery_ids:
        return []
    return _backend().claim(delivery_ids, now=now, token=token)


def record_outcome(
    delivery_id: int, *, status: str, now: dt.datetime, token: str, error: str = "", message_id: str = ""
) -> int:
    """Write one row's outcome if it is still `sending` under `token` (only the claim's owner
    writes); the number of rows written. `uncertain` also counts an unknown outcome."""
    return _backend().record_outcome(
        delivery_id, status=status, now=now, error=error, message_id=message_id, token=token
    )


def mark_sent(sent: Sequence[tuple[int, str]], *, now: dt.datetime, token: str) -> None:
    """Mark accepted (delivery id, ESP message id) rows `sent`, those still `sending` under
    `token` only."""
    if sent:
        _backend().mark_sent(sent, now=now, token=token)


def release(delivery_ids: Sequence[int], *, now: dt.datetime, token: str, note: str) -> int:
    """Give back claimed rows that were never sent (`queued` again, the claim's attempt not
    counted); only rows still `sending` under `token`. Rows released."""
    if not delivery_ids:
        return 0
    return Delivery.objects.filter(
        pk__in=list(delivery_ids), status=Delivery.Status.SENDING, claim_token=token
    ).update(status=Delivery.Status.QUEUED, attempts=F("attempts") - 1, note=note[:200], updated_at=now)
