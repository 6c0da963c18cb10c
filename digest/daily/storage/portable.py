"""The daily run's row work in portable ORM (SQLite and any other database): the twin of
`postgres`, with the same functions and the same results. `postgres` reuses the lookups
here where a concurrent run got there first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import F, IntegerField, QuerySet, Value

from digest.daily.storage.rows import (
    CLAIM_FIELDS,
    ClaimedRow,
    DueRow,
    EditionIds,
    NewDelivery,
    NewEdition,
    ReaderDay,
    keyset_page,
)
from digest.models import HISTORY_STATUSES, Delivery, Edition
from subscriptions.models import Subscriber


def recent_editions(readers: Sequence[ReaderDay], *, days: int) -> dict[int, list[int]]:
    """Edition ids each reader was sent (or is being sent) in the `days` before their digest
    date: one query for all of them."""
    if not readers:
        return {}
    first = min(day for _, day in readers) - dt.timedelta(days=days)
    last = max(day for _, day in readers)
    rows = Delivery.objects.filter(
        subscriber_id__in=[pk for pk, _ in readers],
        digest_date__gte=first,
        digest_date__lt=last,
        status__in=HISTORY_STATUSES,
        edition__isnull=False,
    ).values_list("subscriber_id", "edition_id", "digest_date")
    window = dict(readers)
    found: dict[int, list[int]] = {pk: [] for pk, _ in readers}
    for reader_id, edition_id, day in rows:
        if window[reader_id] - dt.timedelta(days=days) <= day < window[reader_id]:
            found[reader_id].append(edition_id)
    return found


def due_page(
    queryset: QuerySet[Subscriber], *, after: tuple[str, int] | None, size: int, history_days: int
) -> list[DueRow]:
    """One page of due readers (see storage.due_page), their recent editions in a second query."""
    page = keyset_page(queryset.annotate(recent_editions=Value(None, output_field=IntegerField())), after)
    rows: list[DueRow] = list(page[:size])
    history = recent_editions([(row[0], row[4]) for row in rows], days=history_days)
    return [(*row[:5], history[row[0]], row[6]) for row in rows]


def existing_editions(pairs: Iterable[tuple[dt.date, str]]) -> EditionIds:
    """Ids of stored editions by (date, content key)."""
    pairs = list(pairs)
    if not pairs:
        return {}
    rows = Edition.objects.filter(
        digest_date__in={day for day, _ in pairs}, content_key__in={key for _, key in pairs}
    ).values_list("digest_date", "content_key", "pk")
    wanted = set(pairs)
    return {(day, key): pk for day, key, pk in rows if (day, key) in wanted}


def link_papers(new: Sequence[Edition | NewEdition], ids: EditionIds) -> None:
    """The edition ↔ paper links of `new` editions whose ids are in `ids` (existing links stay)."""
    links = [
        Edition.papers.through(edition_id=ids[(e.digest_date, e.content_key)], paper_id=pid)
        for e in new
        if (e.digest_date, e.content_key) in ids
        for pid in e.paper_ids
    ]
    Edition.papers.through.objects.bulk_create(links, ignore_conflicts=True)


def insert_editions(new: Sequence[Edition | NewEdition]) -> EditionIds:
    """Store rendered editions and their paper links, and rows of personal lists (a row a
    concurrent run stored first wins); ids by (date, content key)."""
    rows = [e if isinstance(e, Edition) else Edition(**e._asdict()) for e in new]
    Edition.objects.bulk_create(rows, ignore_conflicts=True)
    found = existing_editions((e.digest_date, e.content_key) for e in new)
    link_papers([e for e in new if not e.personal], found)  # a personal list is its paper_ids
    return found


def insert_deliveries(rows: Sequence[NewDelivery], *, skipped_note: str) -> list[int]:
    """Insert Delivery rows (the unique constraint drops a reader's second row for a date):
    `queued` with an edition, `skipped` with `skipped_note` without. Ids of the queued rows
    this call inserted: rows already there before it are left out (a run between that look
    and the insert could still have its rows counted here too; the claim decides who sends)."""
    readers = [r.subscriber_id for r in rows]
    dates = {r.digest_date for r in rows}
    mine = Delivery.objects.filter(subscriber_id__in=readers, digest_date__in=dates)
    before = set(mine.values_list("subscriber_id", "digest_date"))
    Delivery.objects.bulk_create(
        [
            Delivery(
                subscriber_id=r.subscriber_id,
                digest_date=r.digest_date,
                edition_id=r.edition_id,
                status=Delivery.Status.QUEUED if r.edition_id else Delivery.Status.SKIPPED,
                note="" if r.edition_id else skipped_note,
            )
            for r in rows
            if (r.subscriber_id, r.digest_date) not in before
        ],
        ignore_conflicts=True,
    )
    wanted = {(r.subscriber_id, r.digest_date) for r in rows} - before
    queued = mine.filter(status=Delivery.Status.QUEUED, attempts=0)
    return [
        pk
        for pk, reader, day in queued.values_list("pk", "subscriber_id", "digest_date")
        if (reader, day) in wanted
    ]


def claim(delivery_ids: Sequence[int], *, now: dt.datetime, token: str) -> list[ClaimedRow]:
    """Move queued rows to `sending` (attempts + 1) under `token`; exactly the rows this call
    moved: the conditional update plus the claim's own token decide."""
    stamp = {
        "status": Delivery.Status.SENDING,
        "claimed_at": now,
        "updated_at": now,
        "claim_token": token,
        "note": "",
    }
    mine = list(
        Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.QUEUED).values_list(
            "pk", flat=True
        )
    )
    Delivery.objects.filter(pk__in=mine, status=Delivery.Status.QUEUED).update(
        attempts=F("attempts") + 1, **stamp
    )
    rows = Delivery.objects.filter(pk__in=mine, status=Delivery.Status.SENDING, claim_token=token)
    return list(rows.order_by("pk").values_list(*CLAIM_FIELDS))


_OUTCOME_SQL = (
    "UPDATE {table} SET status = %s, updated_at = %s, error = %s{extra} "
    "WHERE id = %s AND status = %s AND claim_token = %s"
)


def record_outcome(
    delivery_id: int, *, status: str, now: dt.datetime, error: str, message_id: str, token: str
) -> int:
    """Write one row's outcome while it is still `sending` under `token`; rows written (0 or
    1). Fixed SQL, valid on every backend: per-message sending writes once per message, so no
    ORM query building on that path."""
    sent = status == Delivery.Status.SENT
    stamp = connection.ops.adapt_datetimefield_value(now)
    extra = ", esp_message_id = %s, sent_at = %s" if sent else ""
    if status == Delivery.Status.UNCERTAIN:
        extra = ", unknown_outcomes = unknown_outcomes + 1"
    sql = _OUTCOME_SQL.format(table=Delivery._meta.db_table, extra=extra)
    params: list[Any] = [status, stamp, error[:2000]]
    params += [message_id[:200], stamp] if sent else []
    params += [delivery_id, Delivery.Status.SENDING.value, token]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written: int = cursor.rowcount
        return written


def mark_sent(sent: Sequence[tuple[int, str]], *, now: dt.datetime, token: str) -> None:
    """Mark accepted `(delivery id, ESP message id)` rows sent (rows still `sending` under
    `token` only): one UPDATE per distinct message id."""
    by_id: dict[str, list[int]] = {}
    for pk, esp_id in sent:
        by_id.setdefault(esp_id, []).append(pk)
    for esp_id, ids in by_id.items():
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING, claim_token=token).update(
            status=Delivery.Status.SENT, esp_message_id=esp_id, sent_at=now, updated_at=now, error=""
        )
