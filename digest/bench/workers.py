"""The send phase on real Celery workers (Redis broker) through a local SMTP sink.

The run is planned first (Delivery rows queued, chunks collected); then W worker
processes are started and warmed, every chunk is handed to the broker at once,
and the send phase lasts until no row is left queued or sending.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import TextIOBase
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from digest.bench.measure import QueryCounter, peak_rss_mb, reset_peak_rss
from digest.bench.runner import ModeResult, clear_run
from digest.daily.dispatch import dispatch_due
from digest.daily.storage import on_postgresql
from digest.models import Delivery

QUEUE = "bench_digest"
ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
WAITING = (Delivery.Status.QUEUED, Delivery.Status.SENDING)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def _processes(workers: int, logs: Path) -> Iterator[None]:
    """`workers` single-process Celery workers, each with its own aiosmtpd sink process (a
    relay serving sessions in parallel, not one event loop every worker waits on); all
    stopped on exit."""
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1", "DIGEST_SEND_MODE": "per-message",
        "DIGEST_CHUNK_SIZE": str(settings.DIGEST_CHUNK_SIZE), "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    try:
        for n in range(workers):
            port = _free_port()
            sink = [str(BIN / "python"), "-m", "digest.bench.smtp_sink", str(port)]
            started.append(subprocess.Popen(sink, cwd=ROOT, start_new_session=True))  # noqa: S603 - fixed command
            _wait_listening(port)
            log = logs / f"worker-{n}.log"
            command = [str(BIN / "celery"), "-A", "config", "worker", "--pool=solo", "-Q", QUEUE]
            command += [
                f"--hostname=bench{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
            command += ["--loglevel=INFO"]
            with log.open("ab") as out:
                process = subprocess.Popen(  # noqa: S603 - our own celery binary, fixed arguments
                    command,
                    cwd=ROOT,
                    env={**env, "EMAIL_PORT": str(port)},
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                )
            started.append(process)
            _wait_ready(log, started[-1])
        yield
    finally:
        for process in reversed(started):
            _stop(process)


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise CommandError(f"the SMTP sink did not start listening on 127.0.0.1:{port}")


def _wait_ready(log: Path, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise CommandError(f"a celery worker did not start:\n{log.read_text(errors='replace')[-2000:]}")


def run_with_workers(workers: int, *, digest_date: dt.date, quiet: bool, err: TextIOBase) -> ModeResult:
    """Plan in this process, send on `workers` Celery workers through the SMTP sink."""
    if not settings.REDIS_URL or not on_postgresql():
        raise CommandError("--workers needs REDIS_URL (the broker) and a PostgreSQL DATABASE_URL")
    from digest.tasks import send_delivery_chunk

    result = ModeResult(mode=f"celery x{workers}")
    clear_run()
    chunks: list[list[int]] = []
    counter = QueryCounter()
    reset_peak_rss()
    with result.phases.phase("plan"), counter.counting():
        report = dispatch_due(enqueue=chunks.append, digest_date=digest_date, send_all=True)
    result.readers, result.queries = report.due, counter.count
    with tempfile.TemporaryDirectory() as logs, _processes(workers, Path(logs)):
        start = time.perf_counter()
        for ids in chunks:
            send_delivery_chunk.apply_async(args=(ids,), queue=QUEUE)
        while Delivery.objects.filter(status__in=WAITING).exists():
            time.sleep(0.25)
        result.phases.add("send", time.perf_counter() - start)
    result.peak_rss_mb = peak_rss_mb()
    result.recipients = result.messages = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    result.editions = report.editions
    return result
