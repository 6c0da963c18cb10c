"""The catalog's generation: a token that changes whenever papers, their topic matches or the
topics change, so whatever was computed from the catalog (cached public pages, the sign-up
page's trending list) can be keyed by it and is computed afresh after a change.

Single saves and deletes signal it (digest.apps); bulk writes call `catalog_changed()`
themselves (ingest, matching, curation, seeds).
"""

from __future__ import annotations

import time

from django.db import transaction

from config.near_cache import near_add, near_get, near_set

GENERATION_KEY = "catalog:generation"


def generation() -> str:
    """The current generation (made on first use, and again if the cache lost it); read
    through each process's near cache, so another process's change shows within a second."""
    current = near_get(GENERATION_KEY)
    if current is None:
        current = near_add(GENERATION_KEY, str(time.time_ns()), None)
    return str(current)


def _new_generation() -> None:
    near_set(GENERATION_KEY, str(time.time_ns()), None)


def catalog_changed(**kwargs: object) -> None:
    """Start a new generation now, and again when the transaction commits (a page computed in
    between from the data before the commit is then not reused). Also a signal receiver."""
    _new_generation()
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(f is _new_generation for _, f, _ in connection.run_on_commit):
        return  # many rows in one transaction (a cascade, a bulk save): one new generation at commit
    transaction.on_commit(_new_generation)
