"""The shapes the storage functions take and return (plain tuples: a million of them a run),
and the keyset page both twins share."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple, TypeAlias

from django.db.models import QuerySet

from subscriptions.models import Subscriber

# (reader id, topic key, frequency, papers per email, local date, recent edition ids, profile)
DueRow: TypeAlias = tuple[int, str, str, int, dt.date, list[int] | None, dict[str, Any] | None]
# (delivery id, attempts, edition id, reader id, email, token key)
ClaimedRow: TypeAlias = tuple[int, int, int | None, int, str, uuid.UUID]
# (reader id, digest date)
ReaderDay: TypeAlias = tuple[int, dt.date]
# edition id by (digest date, content key)
EditionIds: TypeAlias = dict[tuple[dt.date, str], int]

READER_FIELDS = (
    "pk",
    "topic_key",
    "frequency",
    "papers_per_email",
    "local_date",
    "recent_editions",
    "profile",
)
CLAIM_FIELDS = ("pk", "attempts", "edition_id", "subscriber_id", "subscriber__email", "subscriber__token_key")


class NewDelivery(NamedTuple):
    """A Delivery row to insert: queued for an edition, skipped without one."""

    subscriber_id: int
    digest_date: dt.date
    edition_id: int | None


class NewEdition(NamedTuple):
    """A row of personal lists to insert (digest.daily.lists; no rendered HTML): a plain
    tuple with the same names as Edition's fields."""

    digest_date: dt.date
    frequency: str
    topic_key: str
    content_key: str
    paper_ids: list[int]
    subject: str
    preheader: str
    reasons: dict[str, Any]
    slug: str
    html: str = ""
    text: str = ""
    personal: bool = True


def keyset_page(queryset: QuerySet[Subscriber], after: tuple[str, int] | None) -> QuerySet[Any]:
    """Readers ordered by (topic key, id) after `after`: keyset pagination on the
    `subscriber_topic_set_idx` index, so every page costs the same."""
    if after is not None:
        table = Subscriber._meta.db_table
        where = f"({table}.topic_key, {table}.id) > (%s, %s)"
        queryset = queryset.extra(where=[where], params=list(after))  # noqa: S610 - fixed SQL, bound params
    return queryset.order_by("topic_key", "pk").values_list(*READER_FIELDS)
