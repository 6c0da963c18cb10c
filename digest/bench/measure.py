"""Measurement helpers: wall time per phase, SQL queries, peak resident memory."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(eq=False)
class QueryCounter:
    """Counts every SQL statement run while `counting()`: on this thread's connection and on
    every connection opened meanwhile (the dispatcher's writer thread opens its own), which
    it wraps from the outside through Django's `connection_created` signal."""

    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        with self._lock:
            self.count += 1
        return execute(sql, params, many, context)

    @contextmanager
    def counting(self) -> Iterator[QueryCounter]:
        wrapped: list[BaseDatabaseWrapper] = []

        def wrap(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)
                wrapped.append(connection)

        connection_created.connect(wrap, weak=False, dispatch_uid=id(self))
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            connection_created.disconnect(dispatch_uid=id(self))
            for other in wrapped:
                if self in other.execute_wrappers:
                    other.execute_wrappers.remove(self)


@dataclass
class Phases:
    """Wall seconds per named phase (a phase may be entered many times; times add up)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def _return_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so what data
    generation left behind does not count as the run's memory."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux /proc/self/clear_refs); False where unsupported."""
    _return_free_memory()
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB since the last reset (VmHWM), else since start."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
