"""The daily run's row work on PostgreSQL: every statement that exists for speed.

Each function has a twin of the same name and result in `portable`. What makes these fast:
array literals bound as one parameter (`arrays`), multi-row INSERT … ON CONFLICT … RETURNING,
an array subquery that brings each due reader's recent editions in the due query, and a claim
that locks what it takes (SKIP LOCKED, so concurrent senders split a chunk).
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet
from django.utils import timezone
from psycopg.types.json import Jsonb

from digest.daily.storage import portable
from digest.daily.storage.arrays import date_array, int_array
from digest.daily.storage.rows import ClaimedRow, DueRow, EditionIds, NewDelivery, NewEdition, keyset_page
from digest.models import HISTORY_STATUSES, Delivery, Edition
from subscriptions.models import Subscriber

recent_editions = portable.recent_editions  # one indexed query either way
record_outcome = portable.record_outcome  # fixed SQL, valid on every backend


def due_page(
    queryset: QuerySet[Subscriber], *, after: tuple[str, int] | None, size: int, history_days: int
) -> list[DueRow]:
    """One page of due readers with each one's recent editions in the same query (an array
    subquery on the (subscriber, digest_date) index)."""
    window = Delivery.objects.filter(
        subscriber=OuterRef("pk"),
        digest_date__gte=OuterRef("local_date") - dt.timedelta(days=history_days),
        digest_date__lt=OuterRef("local_date"),
        status__in=HISTORY_STATUSES,
        edition__isnull=False,
    ).values("edition_id")
    return list(keyset_page(queryset.annotate(recent_editions=ArraySubquery(window)), after)[:size])


_EDITION_COLUMNS = (
    "digest_date", "frequency", "topic_key", "content_key", "paper_ids", "subject", "preheader",
    "html", "text", "personal", "reasons", "slug",
)  # fmt: skip
# A session's staging table for new editions: COPY fills it (rows cross the wire once, in
# COPY's format, with nothing to parse twice), one INSERT … SELECT moves them on.
_STAGE = "paperboy_new_editions"
_STAGE_SQL = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (
    digest_date date, frequency text, topic_key text, content_key text, paper_ids jsonb,
    subject text, preheader text, html text, text text, personal boolean, reasons jsonb, slug text
) ON COMMIT DELETE ROWS;
ALTER TABLE {_STAGE} ALTER html SET STORAGE EXTERNAL, ALTER text SET STORAGE EXTERNAL
"""  # EXTERNAL: a rendered edition is compressed once, where it is kept, not also here
_INSERT_EDITIONS_SQL = """
WITH inserted AS (
    INSERT INTO {edition} ({columns}, created_at)
    SELECT {columns}, %s FROM {stage}
    ON CONFLICT (digest_date, content_key) DO NOTHING
    RETURNING id, digest_date, content_key, paper_ids, personal
), links AS (
    INSERT INTO {links} (edition_id, paper_id)
    SELECT inserted.id, paper.id::bigint
    FROM inserted, jsonb_array_elements_text(inserted.paper_ids) AS paper(id)
    WHERE NOT inserted.personal
    ON CONFLICT DO NOTHING
)
SELECT id, digest_date, content_key FROM inserted
"""
_EMPTY_STAGE_SQL = f"DELETE FROM {_STAGE}"  # noqa: S608 - a fixed name
# Binary COPY: text crosses as it is (no escaping of a 45 KB rendered edition), about a third
# of the client's time a row and half the server's.
_COPY_SQL = f"COPY {_STAGE} ({', '.join(_EDITION_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_STAGE_TYPES = [
    "date", "text", "text", "text", "jsonb", "text", "text", "text", "text", "boolean", "jsonb", "text"
]  # fmt: skip


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_staged: weakref.WeakSet[Any] = weakref.WeakSet()  # connections whose session has the table


def insert_editions(new: Sequence[Edition | NewEdition]) -> EditionIds:
    """COPY the editions into the session's staging table, then one statement stores them and
    the paper links of the shared ones (a row a concurrent run stored first wins: it is looked
    up and linked). Two statements a batch, the first time in a session three."""
    sql = _INSERT_EDITIONS_SQL.format(
        edition=Edition._meta.db_table,
        links=Edition.papers.through._meta.db_table,
        columns=", ".join(_EDITION_COLUMNS),
        stage=_STAGE,
    )
    # Inside a caller's transaction the table may vanish with its rollback: ask each time then.
    nested = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        raw = connection.connection
        if nested or raw not in _staged:
            cursor.execute(_STAGE_SQL)
        with cursor.cursor.copy(_COPY_SQL) as copy:
            copy.set_types(_STAGE_TYPES)
            for e in new:
                copy.write_row(
                    (
                        e.digest_date, e.frequency, e.topic_key, e.content_key, Jsonb(list(e.paper_ids)),
                        e.subject, e.preheader, e.html, e.text, e.personal,
                        Jsonb(e.reasons, dumps=_json_text), e.slug,
                    )
                )  # fmt: skip
        cursor.execute(sql, [timezone.now()])
        found: EditionIds = {(day, key): pk for pk, day, key in cursor.fetchall()}
        if nested:  # the commit that empties the table comes later
            cursor.execute(_EMPTY_STAGE_SQL)
    if not nested:  # created (if it was) and committed
        _staged.add(raw)
    raced = [(e.digest_date, e.content_key) for e in new if (e.digest_date, e.content_key) not in found]
    if raced:
        earlier = portable.existing_editions(raced)
        portable.link_papers([e for e in new if not e.personal], earlier)
        found.update(earlier)
    return found


_INSERT_DELIVERIES_SQL = """
INSERT INTO {table} (subscriber_id, digest_date, edition_id, status, note,
                     esp_message_id, attempts, error, claim_token, unknown_outcomes,
                     created_at, updated_at)
SELECT v.subscriber_id, v.digest_date, v.edition_id,
       CASE WHEN v.edition_id IS NULL THEN %s ELSE %s END,
       CASE WHEN v.edition_id IS NULL THEN %s ELSE '' END, '', 0, '', '', 0, %s, %s
FROM unnest(%s::bigint[], %s::date[], %s::bigint[]) AS v(subscriber_id, digest_date, edition_id)
ON CONFLICT (subscriber_id, digest_date) DO NOTHING
RETURNING id, status
"""


def insert_deliveries(rows: Sequence[NewDelivery], *, skipped_note: str) -> list[int]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING for the chunk (no model objects)."""
    now = timezone.now()
    params: list[Any] = [
        Delivery.Status.SKIPPED.value,
        Delivery.Status.QUEUED.value,
        skipped_note,
        now,
        now,
        int_array(r.subscriber_id for r in rows),
        date_array(r.digest_date for r in rows),
        int_array(r.edition_id for r in rows),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_DELIVERIES_SQL.format(table=Delivery._meta.db_table), params)
        return [pk for pk, status in cursor.fetchall() if status == Delivery.Status.QUEUED]


_CLAIM_SQL = """
WITH mine AS (
    SELECT id FROM {delivery} WHERE id = ANY(%s::bigint[]) AND status = %s ORDER BY id FOR UPDATE SKIP LOCKED
)
UPDATE {delivery} AS d
SET status = %s, attempts = d.attempts + 1, claimed_at = %s, updated_at = %s, claim_token = %s, note = ''
FROM mine, {subscriber} AS s
WHERE d.id = mine.id AND s.id = d.subscriber_id
RETURNING d.id, d.attempts, d.edition_id, s.id, s.email, s.token_key
"""


def claim(delivery_ids: Sequence[int], *, now: dt.datetime, token: str) -> list[ClaimedRow]:
    """One statement that locks the queued rows it takes and moves them to `sending` under
    `token`."""
    sql = _CLAIM_SQL.format(delivery=Delivery._meta.db_table, subscriber=Subscriber._meta.db_table)
    params: list[Any] = [
        int_array(delivery_ids),
        Delivery.Status.QUEUED,
        Delivery.Status.SENDING,
        now,
        now,
        token,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(cursor.fetchall())


_MARK_SENT_SQL = """
UPDATE {table} AS d
SET status = %s, esp_message_id = %s::jsonb ->> d.id::text, sent_at = %s, updated_at = %s, error = ''
WHERE d.id = ANY(%s::bigint[]) AND d.status = %s AND d.claim_token = %s
"""  # each row finds its ESP message id in one JSON object: no join whose plan could go quadratic


def mark_sent(sent: Sequence[tuple[int, str]], *, now: dt.datetime, token: str) -> None:
    """One UPDATE for all accepted rows, each with its own ESP message id."""
    params: list[Any] = [
        Delivery.Status.SENT,
        json.dumps({str(pk): esp_id for pk, esp_id in sent}),
        now,
        now,
        int_array(pk for pk, _ in sent),
        Delivery.Status.SENDING,
        token,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT_SQL.format(table=Delivery._meta.db_table), params)
