"""Swapping one of anymail's attribute converters for a faster one with the same result.

anymail's payload reads each message attribute through a (name, combiner, converter) entry of
`BasePayload.base_message_attrs` or `anymail_message_attrs`. `replace` puts our converter in
an entry only where that entry is still exactly the one our converter was written against
(the pinned release's); otherwise it changes nothing and says so. `restore` undoes it (tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from anymail.backends.base import BasePayload

logger = logging.getLogger(__name__)

Entry = tuple[str, Any, Callable[..., Any]]


def replace(table: str, theirs: Entry, ours: Callable[..., Any], *, warning: str) -> bool:
    """Give `theirs` (an entry of `BasePayload.<table>`) the converter `ours`, keeping its name
    and combiner (idempotent). False, with `warning` logged, when the table lacks `theirs`."""
    entries: tuple[tuple[Any, ...], ...] = getattr(BasePayload, table)
    mine = (theirs[0], theirs[1], ours)
    if mine in entries:
        return True
    if theirs not in entries:
        logger.warning(warning)
        return False
    setattr(BasePayload, table, tuple(mine if entry == theirs else entry for entry in entries))
    return True


def restore(table: str, theirs: Entry, ours: Callable[..., Any]) -> None:
    """anymail's own converter in that entry again."""
    entries: tuple[tuple[Any, ...], ...] = getattr(BasePayload, table)
    setattr(
        BasePayload,
        table,
        tuple(theirs if entry[0] == theirs[0] and entry[2] is ours else entry for entry in entries),
    )
