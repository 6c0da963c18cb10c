"""A real `celery beat` on the database scheduler, with a real worker and Redis: a periodic task
an operator adds runs, its pause takes effect without a restart, beat writes its heartbeat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from digest.models import JobRun
from tests.celery_worker import QUEUE_ENV, WorkerPool, needs_redis_and_postgres, test_database_url

pytestmark = [
    needs_redis_and_postgres("to run celery beat and a worker"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent.parent
SENT = "Scheduler: Sending due task every-second-dispatch"


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_beat_runs_the_database_schedule_and_follows_an_operators_change(tmp_path):
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="every-second-dispatch", task="digest.tasks.dispatch_due_digests", interval=every_second
    )
    pool = WorkerPool(tmp_path)
    worker = pool.start(concurrency=1)
    heartbeat = tmp_path / "beat-heartbeat"
    log_path = tmp_path / "beat.log"
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        QUEUE_ENV: pool.queue,
        "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
        "BEAT_HEARTBEAT_FILE": str(heartbeat),
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("ab") as log:
        command = [str(Path(sys.executable).parent / "celery"), "-A", "tests.celery_worker", "beat"]
        beat = subprocess.Popen(  # noqa: S603 - our own celery binary, fixed arguments
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for(lambda: log_path.read_text().count(SENT) >= 3, 60, "beat to send the task three times")
        _wait_for(
            lambda: JobRun.objects.filter(kind=JobRun.Kind.DISPATCH, ok=True).count() >= 2,
            60,
            "the worker to run the dispatches beat sent",
        )
        assert heartbeat.exists()
        assert time.time() - heartbeat.stat().st_mtime < 30

        task.enabled = False  # an operator pauses it in admin
        task.save()
        time.sleep(8)  # beat notices a change within its 5 s loop
        paused_at = log_path.read_text().count(SENT)
        time.sleep(4)
        assert log_path.read_text().count(SENT) == paused_at
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=20)
        worker.stop()
    defaults = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {"dispatch-due-digests", "ingest-daily-papers", "ingest-arxiv", "heal-deliveries"} <= defaults
