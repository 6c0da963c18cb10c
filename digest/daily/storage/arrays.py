"""PostgreSQL array literals built in one string join.

Django's psycopg backend binds parameters client-side, quoting a Python list element
by element; for the daily run's chunk-sized arrays one literal ("{1,2,3}") passed as
a single parameter and cast in SQL (`%s::bigint[]`) is many times cheaper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def int_array(values: Iterable[int | None]) -> str:
    """'{1,2,NULL}' for `%s::bigint[]`."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def date_array(values: Iterable[dt.date]) -> str:
    """'{2026-11-23,…}' for `%s::date[]`."""
    return "{" + ",".join(v.isoformat() for v in values) + "}"
