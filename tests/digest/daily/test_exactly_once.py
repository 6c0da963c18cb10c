"""Exactly once, by design: claims owned by one sender, unknown outcomes never re-sent
blindly, the ESP's circuit breaker, interrupted sends, outcome writes through a database
outage, ESP events settling what the sender could not know, a lost hourly dispatch."""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
import time_machine
from anymail.exceptions import AnymailAPIError
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.core.cache import cache
from django.db import OperationalError

from digest.daily import breaker, sending, storage
from digest.daily.dispatch import DISPATCHED_HOUR, mark_dispatched
from digest.daily.healing import CAREFUL_RETRY, DIED_MID_SEND, HealReport, heal, settle_claim
from digest.daily.receivers import SETTLED_BY_ESP
from digest.daily.sending import claim, send_chunk
from digest.models import Delivery
from digest.tasks import heal_deliveries
from subscriptions.models import EmailEvent
from subscriptions.signals import email_event_recorded
from tests.digest.daily import fake_esp

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = NOW.date()
S = Delivery.Status


@pytest.fixture(autouse=True)
def esp(settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    settings.DIGEST_RETRY_BACKOFF = 0
    settings.DIGEST_BREAKER_FAILURES = 3
    settings.DIGEST_BREAKER_COOLDOWN = 30
    fake_esp.reset()
    mail.outbox = []
    with time_machine.travel(NOW, tick=False):
        yield fake_esp


def _send(ids: list[int]) -> None:
    send_chunk(ids)


def _sent_to() -> list[str]:
    return sorted(addr for m in mail.outbox for addr in m.to)


def _statuses(ids: list[int]) -> list[str]:
    rows = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [rows[pk] for pk in ids]


def _event(row: Delivery, kind: str, event_id: str) -> None:
    event = EmailEvent.objects.create(
        esp_name="Test",
        event_id=event_id,
        event_type=kind,
        recipient=row.subscriber.email,
        message_id="esp-123",
        delivery_id=row.pk,
    )
    email_event_recorded.send(sender=EmailEvent, event=event)


# --- claims belong to their owner -----------------------------------------------------


def test_only_the_claims_owner_can_write_its_outcome(chunk):
    (row,) = claim(chunk[:1], token="owner")
    now = NOW
    assert storage.record_outcome(row.pk, status=S.SENT, now=now, token="someone-else") == 0
    assert storage.release([row.pk], now=now, token="someone-else", note="x") == 0
    storage.mark_sent([(row.pk, "m1")], now=now, token="someone-else")
    assert Delivery.objects.get(pk=row.pk).status == S.SENDING
    assert storage.record_outcome(row.pk, status=S.SENT, now=now, token="owner", message_id="m1") == 1
    assert Delivery.objects.get(pk=row.pk).status == S.SENT
    # A late, repeated write (a retry after a lost database answer) changes nothing.
    assert storage.record_outcome(row.pk, status=S.FAILED, now=now, token="owner") == 0
    assert Delivery.objects.get(pk=row.pk).status == S.SENT


def test_a_redelivered_task_settles_its_own_dead_run_then_sends_only_the_untried(chunk):
    # The first run of task "t-1" claimed the chunk and died while sending the first row.
    claim(chunk, token="t-1")
    result = send_chunk(chunk, token="t-1", again=True)  # Celery hands the same task out again
    assert _statuses(chunk) == [S.UNCERTAIN] + [S.SENT] * 5
    assert result.sent == 5
    assert "s0@example.com" not in _sent_to()
    first = Delivery.objects.get(pk=chunk[0])
    assert (first.unknown_outcomes, first.note) == (1, DIED_MID_SEND)
    # A different task never settles someone else's live claim.
    claim(chunk, token="t-2")  # nothing left to claim: the rows are done
    assert send_chunk(chunk, token="t-3").sent == 0


def test_in_batch_mode_a_dead_claim_is_uncertain_for_every_row(chunk, settings):
    settings.DIGEST_SEND_MODE = "batch"
    claim(chunk, token="t-batch")
    report = HealReport()
    again = settle_claim("t-batch", chunk, now=NOW, report=report)
    assert again == []  # one batch call may have taken them all: nobody is re-sent blindly
    assert _statuses(chunk) == [S.UNCERTAIN] * 6
    assert report.uncertain == 6


# --- unknown outcomes -----------------------------------------------------------------


def test_an_unknown_outcome_is_retried_once_carefully_after_a_quiet_period_and_never_twice(
    chunk, esp, settings
):
    esp.script["s1@example.com"] = [TimeoutError("read timed out"), TimeoutError("read timed out")]
    result = send_chunk(chunk)
    assert (result.sent, result.uncertain, result.retry_ids) == (5, 1, [])
    assert _statuses(chunk)[1] == S.UNCERTAIN

    quiet = settings.DIGEST_UNKNOWN_QUIET_MINUTES
    with time_machine.travel(NOW + dt.timedelta(minutes=quiet - 1), tick=False):
        assert heal(now=NOW + dt.timedelta(minutes=quiet - 1), enqueue=_send, size=10).retried == 0
    later = NOW + dt.timedelta(minutes=quiet + 1)
    with time_machine.travel(later, tick=False):
        assert heal(now=later, enqueue=_send, size=10).retried == 1
    row = Delivery.objects.get(pk=chunk[1])
    assert (row.status, row.unknown_outcomes) == (S.UNCERTAIN, 2)  # the careful retry timed out too

    much_later = later + dt.timedelta(minutes=quiet + 1)
    with time_machine.travel(much_later, tick=False):
        assert heal(now=much_later, enqueue=_send, size=10).retried == 0
    assert Delivery.objects.get(pk=chunk[1]).status == S.UNCERTAIN
    assert _sent_to().count("s1@example.com") == 0  # the fake ESP raised before taking it


def test_a_careful_retry_carries_its_note_and_succeeds(chunk, esp, settings):
    esp.script["s2@example.com"] = [TimeoutError("read timed out")]
    send_chunk(chunk)
    later = NOW + dt.timedelta(minutes=settings.DIGEST_UNKNOWN_QUIET_MINUTES + 1)
    noted: list[str] = []

    def enqueue(ids: list[int]) -> None:
        noted.extend(Delivery.objects.filter(pk__in=ids).values_list("note", flat=True))
        send_chunk(ids)

    with time_machine.travel(later, tick=False):
        heal(now=later, enqueue=enqueue, size=10)
    assert noted == [CAREFUL_RETRY]
    assert _statuses(chunk) == [S.SENT] * 6
    assert _sent_to().count("s2@example.com") == 1


def test_an_esp_event_settles_an_unknown_outcome_either_way(chunk, esp, settings):
    esp.script["s0@example.com"] = [TimeoutError("read timed out")]
    esp.script["s1@example.com"] = [TimeoutError("read timed out")]
    send_chunk(chunk)
    taken, refused = Delivery.objects.get(pk=chunk[0]), Delivery.objects.get(pk=chunk[1])
    _event(taken, "delivered", "ev-1")
    _event(refused, "rejected", "ev-2")
    taken.refresh_from_db()
    refused.refresh_from_db()
    assert (taken.status, taken.note, taken.esp_message_id) == (S.SENT, SETTLED_BY_ESP, "esp-123")
    assert (refused.status, refused.note) == (S.FAILED, SETTLED_BY_ESP)
    # Settled rows are never retried, however long the ESP then stays quiet.
    later = NOW + dt.timedelta(minutes=settings.DIGEST_UNKNOWN_QUIET_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        assert heal(now=later, enqueue=_send, size=10).retried == 0
    assert len(mail.outbox) == 4


# --- interrupted sends and database outages -------------------------------------------


def test_a_soft_time_limit_mid_send_leaves_the_call_in_flight_uncertain_and_gives_back_the_rest(chunk, esp):
    esp.script["s2@example.com"] = [SoftTimeLimitExceeded()]
    with pytest.raises(SoftTimeLimitExceeded):
        send_chunk(chunk, token="t-slow")
    assert _statuses(chunk) == [S.SENT, S.SENT, S.UNCERTAIN, S.QUEUED, S.QUEUED, S.QUEUED]
    attempts = list(Delivery.objects.filter(pk__in=chunk[3:]).values_list("attempts", flat=True))
    assert attempts == [0, 0, 0]  # given back: their attempt is not counted
    assert send_chunk(chunk[3:]).sent == 3
    assert _sent_to() == [f"s{n}@example.com" for n in (0, 1, 3, 4, 5)]


@pytest.mark.django_db(transaction=True)  # a write is retried only outside a transaction
def test_an_outcome_write_survives_the_database_going_away(chunk, monkeypatch):
    monkeypatch.setattr(sending, "WRITE_BACKOFF", (0.0, 0.0, 0.0))
    real = storage.record_outcome
    failures = iter([True, True, False] + [False] * 10)

    def flaky(*args, **kwargs):
        if next(failures):
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, "record_outcome", flaky)
    assert send_chunk(chunk).sent == 6
    assert _statuses(chunk) == [S.SENT] * 6
    assert len(mail.outbox) == 6  # nothing sent twice for a write that had to be repeated


@pytest.mark.django_db(transaction=True)
def test_an_outcome_write_that_never_gets_through_raises_after_the_backoff(chunk, monkeypatch):
    monkeypatch.setattr(sending, "WRITE_BACKOFF", (0.0, 0.0))

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(storage, "record_outcome", down)
    with pytest.raises(OperationalError):
        send_chunk(chunk, token="t-db")
    # The row whose outcome could not be written stays `sending` under the claim: healing
    # (or this task's redelivery) settles it; nothing was marked for a blind resend.
    assert _statuses(chunk)[0] == S.SENDING
    assert len(mail.outbox) == 1


# --- the circuit breaker --------------------------------------------------------------


def test_the_breaker_opens_after_failures_in_a_row_and_a_success_resets_the_count():
    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    breaker.record_success()
    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    assert breaker.wait_seconds() == 0
    assert breaker.record_failure() is True
    assert breaker.is_open()
    assert 29 < breaker.wait_seconds() <= 30


def test_past_the_cooldown_exactly_one_sender_probes_and_a_failed_probe_doubles_the_wait(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(breaker, "_now", lambda: clock[0])
    for _ in range(3):
        breaker.record_failure()
    clock[0] += 31
    assert breaker.wait_seconds() == 0  # the probe
    assert breaker.wait_seconds() > 0  # everyone else waits for it
    assert breaker.is_open()
    assert breaker.record_failure() is True  # the probe failed
    assert breaker.wait_seconds() == pytest.approx(60)
    clock[0] += 61
    assert breaker.wait_seconds() == 0
    breaker.record_success()
    assert not breaker.is_open()
    assert breaker.wait_seconds() == 0
    assert breaker.wait_seconds() == 0


def test_while_the_breaker_is_open_a_chunk_claims_nothing_and_calls_no_esp(chunk, esp):
    for _ in range(3):
        breaker.record_failure()
    result = send_chunk(chunk)
    assert result.released_ids == chunk
    assert result.breaker_wait > 0
    assert esp.calls == []
    assert _statuses(chunk) == [S.QUEUED] * 6
    assert set(Delivery.objects.filter(pk__in=chunk).values_list("attempts", flat=True)) == {0}


def test_an_esp_outage_stops_a_chunk_early_and_gives_back_what_it_never_tried(chunk, esp):
    for n in range(3):
        esp.script[f"s{n}@example.com"] = [AnymailAPIError("ESP down", status_code=503)]
    result = send_chunk(chunk)
    assert result.sent == 0
    assert result.retry_ids == chunk[:3]
    assert result.released_ids == chunk[3:]
    assert result.breaker_wait > 0
    assert len(esp.calls) == 3  # not six: the breaker opened after the third refusal
    assert _statuses(chunk) == [S.QUEUED] * 6


def test_failures_between_accepted_calls_never_open_the_breaker(chunk, esp):
    for n in (1, 3, 5):  # three failures (the breaker's limit here), never in a row
        esp.script[f"s{n}@example.com"] = [AnymailAPIError("ESP hiccup", status_code=503)]
    result = send_chunk(chunk)
    assert (result.sent, result.released_ids, result.breaker_wait) == (3, [], 0.0)
    assert not breaker.is_open()


@pytest.mark.parametrize(("first", "longest"), [(30, 600), (1, 20)])
def test_the_breakers_wait_stops_doubling_at_twenty_times_the_first(monkeypatch, settings, first, longest):
    settings.DIGEST_BREAKER_COOLDOWN = first
    clock = [1000.0]
    monkeypatch.setattr(breaker, "_now", lambda: clock[0])
    waits = []
    for _ in range(3):
        breaker.record_failure()
    for _ in range(8):  # every probe fails
        clock[0] += breaker.wait_seconds() + 1
        assert breaker.wait_seconds() == 0
        breaker.record_failure()
        waits.append(round(breaker.wait_seconds()))
    assert waits[0] == 2 * first
    assert max(waits) == longest


def test_healing_hands_out_nothing_while_the_breaker_is_open(chunk):
    later = NOW + dt.timedelta(minutes=20)  # the rows wait longer than DIGEST_REQUEUE_AFTER_MINUTES
    handed: list[list[int]] = []
    with time_machine.travel(later, tick=False):
        for _ in range(3):
            breaker.record_failure()
        report = heal(now=later, enqueue=handed.append, size=10)
    assert report.esp_down is True
    assert handed == []


def test_a_breaker_whose_cache_is_down_counts_as_closed(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "add", broken)
    assert breaker.wait_seconds() == 0
    assert breaker.record_failure() is False
    assert breaker.is_open() is False


# --- a lost hourly dispatch -----------------------------------------------------------


def test_healing_runs_this_hours_dispatch_when_it_never_finished(chunk, django_capture_on_commit_callbacks):
    Delivery.objects.all().delete()  # the fixture's dispatch, as if it never happened
    cache.delete(DISPATCHED_HOUR)  # and its completion mark (a broker restart lost the run)
    with django_capture_on_commit_callbacks(execute=True):
        report = heal_deliveries()
    assert cast("dict[str, int]", report["dispatched"])["queued"] == 6
    assert len(mail.outbox) == 6
    again = heal_deliveries()  # the rerun marked the hour done
    assert "dispatched" not in again
    assert len(mail.outbox) == 6


def test_healing_leaves_a_finished_dispatch_alone(chunk):
    mark_dispatched(NOW)
    assert "dispatched" not in heal_deliveries()
