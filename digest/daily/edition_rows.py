"""The editions a sender reads, as plain rows: a batch sender needs their fields, not model
instances (a row of personal lists holds hundreds of readers' lists: digest.daily.lists)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from digest.models import Edition


class EditionRow(NamedTuple):
    """What sending reads of an Edition (the same names as its fields)."""

    pk: int
    subject: str
    preheader: str
    html: str
    text: str
    personal: bool
    reasons: Any
    paper_ids: Any
    digest_date: dt.date
    frequency: str
    slug: str


FIELDS = EditionRow._fields


def edition_rows(ids: Iterable[int]) -> dict[int, EditionRow]:
    """These editions by id (one query; JSON fields decoded as the model would)."""
    rows = Edition.objects.filter(pk__in=list(ids)).values_list(*FIELDS)
    return {row[0]: EditionRow(*row) for row in rows}
