"""Real Celery workers for tests: `celery worker` subprocesses on the Redis broker.

A worker gets its own queue (so parallel runs never take each other's tasks),
the pytest database (tests using it need `django_db(transaction=True)`) and the
email settings the test gives it. `celery -A tests.celery_worker` loads this
module, which routes every task to $PAPERBOY_TEST_QUEUE in the worker too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import quote

import pytest

from config.celery_app import app

if TYPE_CHECKING:
    from kombu.transport import virtual

ROOT = Path(__file__).resolve().parent.parent
QUEUE_ENV = "PAPERBOY_TEST_QUEUE"

if os.environ.get(QUEUE_ENV):  # inside a worker started by CeleryWorker
    app.conf.task_default_queue = os.environ[QUEUE_ENV]
    app.conf.task_routes = {"*": {"queue": os.environ[QUEUE_ENV]}}


def needs_redis_and_postgres(purpose: str = "to run real Celery workers") -> pytest.MarkDecorator:
    """Skip, saying why, unless REDIS_URL and a PostgreSQL DATABASE_URL are set (as in CI)."""
    redis_url = os.environ.get("REDIS_URL", "")
    database_url = os.environ.get("DATABASE_URL", "")
    return pytest.mark.skipif(
        not redis_url.startswith("redis://") or not database_url.startswith(("postgres://", "postgresql://")),
        reason=f"needs a Redis broker (REDIS_URL) and PostgreSQL (DATABASE_URL) {purpose}",
    )


def test_database_url() -> str:
    """The pytest database as a URL the worker's settings understand."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


# a helper, not a test (setattr: mypy does not model attributes set on a function)
setattr(test_database_url, "__test__", False)  # noqa: B010


class CeleryWorker:
    """One `celery worker` process (prefork); `start()` returns once it is ready."""

    def __init__(self, *, queue: str, log_dir: Path, env: dict[str, str], concurrency: int = 2) -> None:
        self.queue, self.concurrency = queue, concurrency
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "DB_CONN_MAX_AGE": "60",
            QUEUE_ENV: queue,
            "PAPERBOY_VAR_DIR": str(log_dir / "var"),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 40.0) -> CeleryWorker:
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "tests.celery_worker",
            "worker",
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "-Q",
            self.queue,
            "-n",
            f"{self.queue}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own celery binary, fixed arguments
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"celery worker did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def child_pids(self) -> list[int]:
        """Pids of the prefork pool processes."""
        if self.process is None:
            return []
        out = subprocess.run(  # noqa: S603 - fixed command
            ["/usr/bin/pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool) at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (warm shutdown); SIGKILL if it takes longer than `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # The pool children are in the same session; make sure none is left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class WorkerPool:
    """Starts workers on one queue for a test, points this process's Celery app at it."""

    def __init__(self, log_dir: Path) -> None:
        self.queue = f"paperboy-test-{uuid.uuid4().hex[:10]}"
        self.log_dir = log_dir
        self.workers: list[CeleryWorker] = []

    def start(self, *, env: dict[str, str] | None = None, concurrency: int = 2) -> CeleryWorker:
        worker = CeleryWorker(queue=self.queue, log_dir=self.log_dir, env=env or {}, concurrency=concurrency)
        self.workers.append(worker)
        return worker.start()

    def purge(self) -> int:
        """Drop every task waiting in this pool's queue (simulates lost broker state)."""
        with app.connection_for_write() as conn:
            # The broker is Redis: kombu's virtual-transport channel (the stubs only say StdChannel).
            channel = cast("virtual.Channel", conn.default_channel)
            return channel.queue_purge(self.queue) or 0

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


def _route_to(queue: str | None) -> None:
    amqp = app.amqp
    app.conf.task_routes = {"*": {"queue": queue}} if queue else None
    amqp.__dict__.pop("router", None)
    # a private cache that celery's stubs leave out; None makes the router re-read task_routes
    setattr(amqp, "_rtable", None)  # noqa: B010


def worker_pool(tmp_path: Path) -> Iterator[WorkerPool]:
    """Body of a fixture (needs `transactional_db`): real workers on a queue of their own;
    tasks sent from the test go to the broker; everything stopped and purged at the end."""
    pool = WorkerPool(tmp_path)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    _route_to(pool.queue)
    try:
        yield pool
    finally:
        pool.stop_all()
        pool.purge()
        _route_to(None)
        app.conf.task_always_eager = previous
        from django.db import connections

        connections.close_all()


@pytest.fixture
def celery_workers(transactional_db, tmp_path: Path) -> Iterator[WorkerPool]:
    """See worker_pool."""
    yield from worker_pool(tmp_path)
