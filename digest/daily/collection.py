"""Garbage collection during the daily run.

The run builds millions of long-lived objects (candidate pools, the day's index, rendered
cards, caches) and almost no cyclic garbage. With Python's default thresholds (700, 10, 10)
the collector walks them again every few thousand allocations: about a fifth of the
dispatcher's time, measured with 40,000 personal readers. While the run lasts it collects
rarely; reference counting still frees everything that is not a cycle, and the thresholds
are put back afterwards (a worker process lives on).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A young collection every RARE[0] allocations of containers, an older one every RARE[1] of
# those, a full one every RARE[2] of those (then only if a quarter of the heap is new).
RARE = (100_000, 100, 1000)


@contextmanager
def rare_collections() -> Iterator[None]:
    """Collect rarely inside this block (nested blocks keep the outer setting)."""
    before = gc.get_threshold()
    if before[0] >= RARE[0]:
        yield
        return
    gc.set_threshold(*RARE)
    try:
        yield
    finally:
        gc.set_threshold(*before)
