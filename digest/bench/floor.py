"""The bench's floor: how long PostgreSQL alone needs to stream the readers and to write one
delivery row each (one INSERT … SELECT, rolled back), on this machine, in this run. A run's
time divided by this floor is comparable across machines where absolute seconds are not."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import Subscriber

STREAM_BATCH = 10_000


@dataclass(frozen=True)
class Floor:
    readers: int
    stream_s: float
    write_s: float

    @property
    def total_s(self) -> float:
        return self.stream_s + self.write_s


class _Rollback(Exception):
    pass


def measure_floor(digest_date: dt.date) -> Floor:
    """Stream every reader's planning columns (a server-side cursor), then insert a delivery row
    per reader in one statement and roll it back. PostgreSQL only."""
    columns = "id, topic_key, frequency, papers_per_email, timezone, profile"
    start = time.perf_counter()
    readers = 0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {Subscriber._meta.db_table} ORDER BY topic_key, id")  # noqa: S608 - fixed SQL
        while rows := cursor.fetchmany(STREAM_BATCH):
            readers += len(rows)
    streamed = time.perf_counter() - start
    now = timezone.now()
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} (subscriber_id, digest_date, status, note, "  # noqa: S608 - fixed SQL
        "esp_message_id, attempts, error, claim_token, unknown_outcomes, created_at, updated_at) "
        f"SELECT id, %s, %s, '', '', 0, '', '', 0, %s, %s FROM {Subscriber._meta.db_table}"
    )
    start = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [digest_date, Delivery.Status.QUEUED, now, now])
            raise _Rollback
    except _Rollback:
        pass
    return Floor(readers=readers, stream_s=streamed, write_s=time.perf_counter() - start)
