"""A small HTTP load generator on asyncio: `clients` connections in a closed loop (each sends
its next request when the last one is answered), one URL at a time, for a fixed time.

Plain HTTP/1.1 over asyncio streams so the generator costs little CPU beside the server it
measures on the same machine; one connection per request, as gunicorn's sync workers close
each connection after answering.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0


@dataclass
class LoadResult:
    url: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in ms (nearest rank); 0 when nothing was answered."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


async def _fetch(host: str, port: int, target: str) -> int:
    """One GET; returns the status code after reading the whole response."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
    try:
        request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), READ_TIMEOUT_S)
    finally:
        writer.close()
    status_line = data.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ConnectionError("no HTTP status line in the answer")
    return int(status_line[1])


async def _run(label: str, urls: Sequence[str], clients: int, seconds: float) -> LoadResult:
    targets = []
    for url in urls:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        targets.append((parts.hostname or "127.0.0.1", parts.port or 80, path))
    turns = itertools.cycle(targets)
    result = LoadResult(url=label, seconds=seconds)
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            host, port, target = next(turns)
            sent = time.perf_counter()
            try:
                status = await _fetch(host, port, target)
            except (OSError, TimeoutError, ConnectionError) as error:
                result.errors += 1
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"
                await asyncio.sleep(0.05)
                continue
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status != 200:
                result.errors += 1
                result.first_error = result.first_error or f"HTTP {status}"

    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def hammer(urls: str | Sequence[str], *, clients: int, seconds: float, label: str = "") -> LoadResult:
    """Load `urls` (taken in turn) with `clients` concurrent clients for `seconds`; every
    answer is timed."""
    chosen = [urls] if isinstance(urls, str) else list(urls)
    if not chosen:
        raise ValueError("no URL to load")
    # A thread of its own: the caller's thread may already run an event loop (asyncio.run
    # refuses to start one there).
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, _run(label or chosen[0], chosen, clients, seconds)).result()
