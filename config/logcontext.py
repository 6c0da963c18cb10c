"""What a log line is about, carried to every line logged inside a block: the send chunk
(its claim token, which is the send task's id) and the deliveries. The filter puts them on
each record: as fields in JSON logs (LOG_FORMAT=json), as " [chunk=… delivery=…]" in plain ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_chunk: ContextVar[str] = ContextVar("log_chunk", default="")
_deliveries: ContextVar[str] = ContextVar("log_deliveries", default="")


def _ids(deliveries: int | Sequence[int]) -> str:
    if isinstance(deliveries, int):
        return str(deliveries)
    ordered = sorted(deliveries)
    if len(ordered) <= 5:
        return ",".join(map(str, ordered))
    return f"{ordered[0]}..{ordered[-1]} ({len(ordered)})"


@contextmanager
def log_context(*, chunk: str | None = None, deliveries: int | Sequence[int] | None = None) -> Iterator[None]:
    """Inside the block every log line names this chunk and these deliveries."""
    tokens = []
    if chunk is not None:
        tokens.append((_chunk, _chunk.set(chunk)))
    if deliveries is not None:
        tokens.append((_deliveries, _deliveries.set(_ids(deliveries))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Adds `chunk_id` and `delivery_id` (when set) and `context` (always) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        chunk, deliveries = _chunk.get(), _deliveries.get()
        parts = []
        if chunk:
            record.chunk_id = chunk
            parts.append(f"chunk={chunk}")
        if deliveries:
            record.delivery_id = deliveries
            parts.append(f"delivery={deliveries}")
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True
