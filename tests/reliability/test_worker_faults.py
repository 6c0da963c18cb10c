"""Faults while a real worker fans out a day's digests: every due reader ends with one
delivery row and one message in the SMTP sink; nothing lost, nothing sent twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from digest.daily.dispatch import dispatch_due
from digest.daily.healing import heal
from digest.models import Delivery
from digest.tasks import enqueue_chunk
from tests.celery_worker import needs_redis_and_postgres
from tests.reliability.smtp_sink import SmtpSink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    needs_redis_and_postgres(),
    pytest.mark.django_db(transaction=True),
]

# A task a dead worker held comes back after 5 s; the hard time limit stays below that
# (config.checks refuses a worker whose visibility timeout does not exceed it).
FAST_RETRY = {
    "DIGEST_RETRY_BACKOFF": "1",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "CELERY_TASK_TIME_LIMIT": "4",
    "CELERY_TASK_SOFT_TIME_LIMIT": "3",
}


def _wait(condition: Callable[[], bool], *, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _statuses() -> dict[str, int]:
    rows = Delivery.objects.values_list("status", flat=True)
    return {s: list(rows).count(s) for s in set(rows)}


def _exactly_once(sink: SmtpSink, readers: list[str], *, timeout: float = 45) -> None:
    _wait(lambda: _statuses() == {Delivery.Status.SENT: len(readers)}, timeout=timeout)
    assert _statuses() == {Delivery.Status.SENT: len(readers)}
    assert sink.per_recipient() == dict.fromkeys(readers, 1)


def _next_dispatch_after_stuck_timeout(settings) -> None:
    """The next hourly run, later than DIGEST_STUCK_AFTER_MINUTES: re-queues stalled rows."""
    later = timezone.now() + dt.timedelta(minutes=settings.DIGEST_STUCK_AFTER_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        report = dispatch_due(enqueue=enqueue_chunk)
    assert report.queued == 0  # nobody gets a second row


def _heal_after_the_quiet_period(settings) -> None:
    """Healing once an unknown outcome has been quiet (no ESP event) long enough: the row is
    tried once more, carefully. (healing.heal directly: a dispatch an hour later could
    cross midnight and find the next day's readers due.)"""
    later = timezone.now() + dt.timedelta(minutes=settings.DIGEST_UNKNOWN_QUIET_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        report = heal(now=timezone.now(), enqueue=enqueue_chunk, size=settings.DIGEST_CHUNK_SIZE)
    assert report.retried == 1


def _one_uncertain_the_rest_sent(readers: list[str], *, timeout: float = 45) -> Delivery:
    expected = {Delivery.Status.SENT: len(readers) - 1, Delivery.Status.UNCERTAIN: 1}
    _wait(lambda: _statuses() == expected, timeout=timeout)
    assert _statuses() == expected
    return Delivery.objects.get(status=Delivery.Status.UNCERTAIN)


def test_worker_killed_mid_fan_out_then_next_dispatch_finishes_the_day(workers, due_readers, settings):
    with SmtpSink(hold_after=6) as sink:
        worker = workers.start(env={**sink.env(), **FAST_RETRY})
        dispatch_due(enqueue=enqueue_chunk)
        assert sink.handler.holding.wait(30), worker.log()[-2000:]
        worker.kill()  # SIGKILL while the 7th message is on the wire, before "250"
        sink.handler.release.set()
        assert sum(sink.per_recipient().values()) == 6
        # The unacknowledged task comes back to a new worker started after the visibility
        # timeout (a worker restores such tasks when it starts, then every ~100 s). It settles
        # its own earlier claim: the message on the wire is uncertain (the ESP may have it),
        # the untried rest goes out now.
        time.sleep(6)
        workers.start(env={**sink.env(), **FAST_RETRY})
        uncertain = _one_uncertain_the_rest_sent(due_readers)
        assert uncertain.subscriber.email not in sink.per_recipient()
        assert sum(sink.per_recipient().values()) == 19
        # No event from the ESP for an hour: it never took that message; one careful retry.
        _heal_after_the_quiet_period(settings)
        _exactly_once(sink, due_readers)


def test_pool_process_killed_mid_send_then_next_dispatch_finishes_the_day(workers, due_readers, settings):
    with SmtpSink(hold_after=3) as sink:
        worker = workers.start(env={**sink.env(), **FAST_RETRY}, concurrency=1)
        dispatch_due(enqueue=enqueue_chunk)
        assert sink.handler.holding.wait(30), worker.log()[-2000:]
        (child,) = worker.child_pids()
        os.kill(child, signal.SIGKILL)  # the main process lives on and rejects the task
        sink.handler.release.set()
        _wait(lambda: "WorkerLostError" in worker.log(), timeout=15)
        assert "WorkerLostError" in worker.log()
        _one_uncertain_the_rest_sent(due_readers)
        _next_dispatch_after_stuck_timeout(settings)
        _heal_after_the_quiet_period(settings)
        _exactly_once(sink, due_readers)


def test_smtp_server_answers_4xx_for_a_while_then_all_arrive_once(workers, due_readers):
    with SmtpSink(temp_fail_first=7) as sink:
        workers.start(env={**sink.env(), **FAST_RETRY, "DIGEST_BREAKER_FAILURES": "50"})
        dispatch_due(enqueue=enqueue_chunk)
        _exactly_once(sink, due_readers)
    assert sink.handler.temp_failed == 7
    attempts = sorted(Delivery.objects.values_list("attempts", flat=True))
    assert attempts == [1] * 13 + [2] * 7


def test_an_esp_down_opens_the_breaker_senders_wait_and_probe_then_all_arrive_once(
    workers, due_readers, settings
):
    breaker = {"DIGEST_BREAKER_FAILURES": "3", "DIGEST_BREAKER_COOLDOWN": "1"}
    with SmtpSink(temp_fail_first=7) as sink:
        worker = workers.start(env={**sink.env(), **FAST_RETRY, **breaker})
        dispatch_due(enqueue=enqueue_chunk)
        # Three refusals open the breaker; each later refusal is a single probe (not a
        # chunk's worth of attempts), and the first accepted probe closes it.
        expected = {Delivery.Status.SENT: 19, Delivery.Status.QUEUED: 1}
        assert _wait(lambda: _statuses() == expected, timeout=60), _statuses()
        assert "circuit breaker open" in worker.log()
        assert "circuit breaker closed" in worker.log()
        # The probes all fell on the first row, which ran out of quick retries: healing
        # hands it out again (a lost row is never left behind).
        probed = Delivery.objects.get(status=Delivery.Status.QUEUED)
        assert probed.attempts == settings.DIGEST_MAX_ATTEMPTS
        later = timezone.now() + dt.timedelta(minutes=settings.DIGEST_REQUEUE_AFTER_MINUTES + 1)
        with time_machine.travel(later, tick=False):
            assert heal(now=timezone.now(), enqueue=enqueue_chunk, size=20).requeued == 1
        _exactly_once(sink, due_readers)
    assert sink.handler.temp_failed == 7
    assert sum(Delivery.objects.values_list("attempts", flat=True)) == 20 + 7


def test_a_refused_mailbox_fails_once_and_holds_nobody_up(workers, due_readers):
    refused = due_readers[4]
    with SmtpSink(refuse={refused}) as sink:
        workers.start(env={**sink.env(), **FAST_RETRY})
        dispatch_due(enqueue=enqueue_chunk)
        _wait(lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() == 19, timeout=45)
        time.sleep(3)  # a retry (backoff 1 s) would have happened by now
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    assert failed.subscriber.email == refused
    assert failed.attempts == 1
    assert "550" in failed.error
    assert sink.per_recipient() == {e: 1 for e in due_readers if e != refused}


def test_two_dispatches_at_once_send_one_digest_each(workers, due_readers, settings):
    settings.DIGEST_CHUNK_SIZE = 4
    start = threading.Barrier(2)
    reports = []

    def run() -> None:
        try:
            start.wait(10)
            reports.append(dispatch_due(enqueue=enqueue_chunk))
        finally:
            connections.close_all()

    with SmtpSink() as sink:
        workers.start(env={**sink.env(), **FAST_RETRY, "DIGEST_CHUNK_SIZE": "4"})
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(reports) == 2
        assert Delivery.objects.count() == 20
        _exactly_once(sink, due_readers)


def _terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        terminated: int = cursor.fetchone()[0]
        return terminated


def test_database_connection_killed_mid_send_loses_no_outcome(workers, due_readers, settings):
    with SmtpSink(hold_after=10) as sink:
        worker = workers.start(env={**sink.env(), **FAST_RETRY}, concurrency=1)
        dispatch_due(enqueue=enqueue_chunk)
        assert sink.handler.holding.wait(30), worker.log()[-2000:]
        assert _terminate_worker_connections() >= 1  # mid-send: the outcome write hits a dead link
        sink.handler.release.set()
        _exactly_once(sink, due_readers)  # the outcome was written over a new connection
        assert "database unreachable while recording a send" in worker.log()
        _next_dispatch_after_stuck_timeout(settings)
        _exactly_once(sink, due_readers)


def test_lost_broker_queue_is_rebuilt_from_the_delivery_table(workers, due_readers, settings):
    with SmtpSink() as sink:
        dispatch_due(enqueue=enqueue_chunk)  # tasks wait in Redis: no worker yet
        assert workers.purge() >= 1  # Redis lost them (restart without persistence)
        workers.start(env={**sink.env(), **FAST_RETRY})
        time.sleep(2)
        assert sink.per_recipient() == {}
        assert _statuses() == {Delivery.Status.QUEUED: 20}
        _next_dispatch_after_stuck_timeout(settings)
        _exactly_once(sink, due_readers)
