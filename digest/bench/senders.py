"""Send chunks in S forked sender processes while the dispatcher plans the next ones.

This is the production split (beat's dispatch task plans and queues chunks; worker
processes claim and send them) without a broker in between: chunks travel over a
multiprocessing queue. Each sender has its own database connection and reports its
SQL statements, messages and peak RSS when the run ends.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue

from django.db import connections

from digest.bench import backend
from digest.bench.measure import QueryCounter, peak_rss_mb, reset_peak_rss
from digest.daily.sending import send_chunk


@dataclass
class SenderReport:
    queries: int
    messages: int
    peak_rss_mb: float
    busy_seconds: float


def _sender(tasks: Queue[list[int] | None], reports: Queue[SenderReport]) -> None:
    reset_peak_rss()
    backend.reset()
    counter = QueryCounter()
    busy = 0.0
    with counter.counting():
        while (ids := tasks.get()) is not None:
            start = time.perf_counter()
            send_chunk(ids)
            busy += time.perf_counter() - start
    connections.close_all()
    reports.put(SenderReport(counter.count, backend.SENT["messages"], peak_rss_mb(), busy))


class SenderPool:
    """`enqueue(ids)` hands a chunk to the next free sender; `finish()` waits for all."""

    def __init__(self, senders: int) -> None:
        context = multiprocessing.get_context("fork")
        # the dispatcher may run ahead (ids only)
        self._tasks: Queue[list[int] | None] = context.Queue(maxsize=senders * 8)
        self._reports: Queue[SenderReport] = context.Queue()
        connections.close_all()  # a forked child must never share the parent's database socket
        self._procs = [
            context.Process(target=_sender, args=(self._tasks, self._reports), daemon=True)
            for _ in range(senders)
        ]
        for proc in self._procs:
            proc.start()

    def enqueue(self, ids: list[int]) -> None:
        self._tasks.put(ids)

    def finish(self, on_wait: Callable[[], None] = lambda: None) -> list[SenderReport]:
        for _ in self._procs:
            self._tasks.put(None)
        reports = [self._report() for _ in self._procs]
        for proc in self._procs:
            proc.join()
        if any(proc.exitcode for proc in self._procs):
            raise RuntimeError("a sender process failed; see its traceback above")
        return reports

    def _report(self) -> SenderReport:
        """The next sender's report; a sender that died without one fails the run instead of
        leaving it waiting forever."""
        while True:
            try:
                return self._reports.get(timeout=1.0)
            except queue.Empty as empty:
                dead = [proc.exitcode for proc in self._procs if not proc.is_alive() and proc.exitcode]
                if dead:
                    message = f"a sender process failed (exit codes {dead}); see its traceback above"
                    raise RuntimeError(message) from empty

    def terminate(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
