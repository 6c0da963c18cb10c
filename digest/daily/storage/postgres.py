"""The daily run's row work on PostgreSQL: every statement that exists for speed.

Each function has a twin of the same name and result in `portable`. What makes these fast:
array literals bound as one parameter (`arrays`), multi-row INSERT … ON CONFLICT … RETURNING,
an array subquery that brings each due reader's recent editions in the due query, and a claim
that locks what it takes (SKIP LOCKED, so concurrent senders split a chunk).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from digest.daily.storage import portable
from digest.daily.storage.arrays import date_array, int_array, text_array
from digest.daily.storage.rows import ClaimedRow, DueRow, EditionIds, NewDelivery, keyset_page
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


_INSERT_EDITIONS_SQL = """
WITH inserted AS (
    INSERT INTO {edition} (digest_date, frequency, topic_key, content_key, paper_ids, subject, preheader,
                           html, text, personal, reasons, slug, created_at)
    SELECT v.digest_date, v.frequency, v.topic_key, v.content_key, v.paper_ids, v.subject, v.preheader,
           v.html, v.text, v.personal, v.reasons, v.slug, %s
    FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::text[],
                %s::text[], %s::text[], %s::boolean[], %s::jsonb[], %s::text[])
         AS v(digest_date, frequency, topic_key, content_key, paper_ids, subject, preheader,
              html, text, personal, reasons, slug)
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


def insert_editions(new: Sequence[Edition]) -> EditionIds:
    """One statement stores the editions (every column one array parameter, so the statement
    does not grow with the batch) and the paper links of the shared ones; editions a
    concurrent run stored first are looked up and linked."""
    sql = _INSERT_EDITIONS_SQL.format(
        edition=Edition._meta.db_table, links=Edition.papers.through._meta.db_table
    )
    params: list[Any] = [
        timezone.now(),
        date_array(e.digest_date for e in new),
        text_array(e.frequency for e in new),
        text_array(e.topic_key for e in new),
        text_array(e.content_key for e in new),
        text_array(json.dumps(list(e.paper_ids)) for e in new),
        text_array(e.subject for e in new),
        text_array(e.preheader for e in new),
        text_array(e.html for e in new),
        text_array(e.text for e in new),
        "{" + ",".join("t" if e.personal else "f" for e in new) + "}",
        text_array(json.dumps(e.reasons, ensure_ascii=False) for e in new),
        text_array(e.slug for e in new),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found: EditionIds = {(day, key): pk for pk, day, key in cursor.fetchall()}
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
UPDATE {table} AS d SET status = %s, esp_message_id = v.esp_id, sent_at = %s, updated_at = %s, error = ''
FROM unnest(%s::bigint[], %s::text[]) AS v(id, esp_id)
WHERE d.id = v.id AND d.status = %s AND d.claim_token = %s
"""


def mark_sent(sent: Sequence[tuple[int, str]], *, now: dt.datetime, token: str) -> None:
    """One UPDATE for all accepted rows, each with its own ESP message id."""
    params: list[Any] = [
        Delivery.Status.SENT,
        now,
        now,
        int_array(pk for pk, _ in sent),
        text_array(esp_id for _, esp_id in sent),
        Delivery.Status.SENDING,
        token,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT_SQL.format(table=Delivery._meta.db_table), params)
