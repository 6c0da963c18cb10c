"""The daily run end to end with a fake ESP: exactly once, retries, failures, stuck rows."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import mail

from digest.daily.dispatch import dispatch_due
from digest.daily.healing import DIED_MID_SEND, GAVE_UP
from digest.daily.sending import send_chunk
from digest.models import Delivery, SendingSettings
from digest.tasks import dispatch_due_digests, enqueue_chunk, heal_deliveries, send_delivery_chunk
from subscriptions.models import EmailEvent
from subscriptions.signals import email_event_recorded
from tests.digest.daily import fake_esp
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import esp_params, first_alternative

# Sends are queued with transaction.on_commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def esp(settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    settings.DIGEST_RETRY_BACKOFF = 0
    fake_esp.reset()
    mail.outbox = []
    with time_machine.travel(NOW, tick=False):
        yield fake_esp


@pytest.fixture
def readers():
    topic = TopicFactory(name="LLM", slug="llm")
    for n in range(3):
        PaperTopicFactory(paper=PaperFactory(title=f"Paper {n}", listed_on=DAY, upvotes=10 - n), topic=topic)
    return [SubscriberFactory(email=f"r{n}@example.com", topics=[topic], delivery_hour=8) for n in range(5)]


def _sent_to() -> list[str]:
    return sorted(addr for m in mail.outbox for addr in m.to)


def test_every_due_reader_gets_exactly_one_digest(readers):
    report = dispatch_due_digests()
    assert report["due"] == 5
    assert report["queued"] == 5
    assert report["editions"] == 1
    assert _sent_to() == sorted(r.email for r in readers)
    deliveries = Delivery.objects.all()
    assert {d.status for d in deliveries} == {Delivery.Status.SENT}
    assert all(d.esp_message_id and d.sent_at and d.attempts == 1 for d in deliveries)


def test_reader_gets_one_digest_when_dispatch_runs_twice(readers):
    dispatch_due_digests()
    second = dispatch_due_digests()
    assert second["due"] == 0
    assert len(mail.outbox) == 5
    assert Delivery.objects.count() == 5


def test_a_redelivered_send_task_sends_nothing_twice(readers):
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    assert mail.outbox == []
    (ids,) = captured
    assert send_chunk(ids).sent == 5
    assert send_chunk(ids).sent == 0  # the broker hands the same task out again
    assert len(mail.outbox) == 5


def test_concurrent_dispatch_plans_do_not_duplicate_rows(readers):
    first: list[list[int]] = []
    second: list[list[int]] = []
    dispatch_due(enqueue=first.append)
    # A second beat that computed the same due list before the first one wrote its rows.
    dispatch_due(enqueue=second.append, email=None)
    for ids in first + second:
        send_chunk(ids)
    assert len(mail.outbox) == 5
    assert Delivery.objects.count() == 5


def test_transient_esp_errors_are_retried_until_sent(readers, esp):
    esp.script["r1@example.com"] = [
        AnymailAPIError("busy", status_code=503),
        AnymailAPIError("x", status_code=429),
    ]
    dispatch_due_digests()
    row = Delivery.objects.get(subscriber__email="r1@example.com")
    assert row.status == Delivery.Status.SENT
    assert row.attempts == 3
    assert _sent_to().count("r1@example.com") == 1
    assert len(_sent_to()) == 5


def test_a_refused_recipient_is_failed_and_not_retried(readers, esp):
    esp.script["r2@example.com"] = [AnymailRecipientsRefused("refused")]
    dispatch_due_digests()
    row = Delivery.objects.get(subscriber__email="r2@example.com")
    assert row.status == Delivery.Status.FAILED
    assert row.attempts == 1
    assert "refused" in row.error
    assert "r2@example.com" not in _sent_to()
    assert len(_sent_to()) == 4  # one failure never stops the rest of its chunk


def test_a_row_out_of_quick_retries_is_retried_by_later_runs_and_nobody_is_lost(readers, esp, settings):
    settings.DIGEST_MAX_ATTEMPTS = 2
    esp.script["r3@example.com"] = [AnymailAPIError("down", status_code=500)] * 3
    dispatch_due_digests()
    row = Delivery.objects.get(subscriber__email="r3@example.com")
    assert (row.status, row.attempts) == (Delivery.Status.QUEUED, 2)
    assert row.error.startswith("left for a later run")

    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        heal_deliveries()  # the ESP still fails once more
    with time_machine.travel(NOW + dt.timedelta(minutes=22), tick=False):
        heal_deliveries()

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Delivery.Status.SENT, 4)
    assert _sent_to().count("r3@example.com") == 1


def test_a_digest_the_esp_refuses_all_day_fails_when_the_readers_day_ends(readers, esp, settings):
    settings.DIGEST_MAX_ATTEMPTS = 1
    esp.script["r3@example.com"] = [AnymailAPIError("down", status_code=500)] * 100
    dispatch_due_digests()
    with time_machine.travel(NOW + dt.timedelta(hours=6), tick=False):
        heal_deliveries()
        assert Delivery.objects.get(subscriber__email="r3@example.com").status == Delivery.Status.QUEUED
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 5, tzinfo=dt.UTC), tick=False):
        report = heal_deliveries()

    row = Delivery.objects.get(subscriber__email="r3@example.com")
    assert (row.status, row.note) == (Delivery.Status.FAILED, GAVE_UP)
    assert report["gave_up"] == 1


def test_rejected_status_from_the_esp_marks_the_delivery_failed(readers, esp):
    esp.script["r4@example.com"] = ["rejected"]
    dispatch_due_digests()
    assert Delivery.objects.get(subscriber__email="r4@example.com").status == Delivery.Status.FAILED


def test_a_dead_senders_claim_is_settled_by_the_next_run_without_a_blind_resend(readers):
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    (ids,) = captured
    # The sender died while sending the chunk's first row (per message, in id order).
    Delivery.objects.update(
        status=Delivery.Status.SENDING, claimed_at=NOW, claim_token="dead-task", attempts=1
    )
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        report = dispatch_due_digests()

    assert report["requeued"] == 4
    first = Delivery.objects.get(pk=min(ids))
    assert (first.status, first.unknown_outcomes, first.note) == (Delivery.Status.UNCERTAIN, 1, DIED_MID_SEND)
    assert len(mail.outbox) == 4
    assert first.subscriber.email not in _sent_to()
    assert set(Delivery.objects.exclude(pk=first.pk).values_list("attempts", flat=True)) == {1}

    # The ESP never says a word about it: one careful retry after the quiet period.
    with time_machine.travel(NOW + dt.timedelta(minutes=30 + 61), tick=False):
        heal_deliveries()
    first.refresh_from_db()
    assert (first.status, first.note) == (Delivery.Status.SENT, "")
    assert _sent_to() == sorted(r.email for r in readers)


def test_queued_rows_whose_task_was_lost_are_sent_by_the_next_run(readers):
    dispatch_due(enqueue=lambda ids: None)  # the broker lost the tasks
    assert mail.outbox == []
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        dispatch_due_digests()
    assert len(mail.outbox) == 5


def test_kill_switch_stops_dispatch_and_says_so(readers, caplog):
    settings_row = SendingSettings.load()
    settings_row.sending_paused = True
    settings_row.save()
    report = dispatch_due_digests()
    assert report["paused"] is True
    assert mail.outbox == []
    assert not Delivery.objects.exists()
    assert "paused" in caplog.text


def test_quiet_day_records_a_skipped_delivery_and_sends_nothing(esp):
    topic = TopicFactory(name="Empty", slug="empty")
    reader = SubscriberFactory(topics=[topic], delivery_hour=0)
    report = dispatch_due_digests()
    assert report["skipped"] == 1
    assert mail.outbox == []
    row = Delivery.objects.get(subscriber=reader)
    assert row.status == Delivery.Status.SKIPPED
    assert row.note


def test_batch_mode_sends_one_esp_call_per_edition_with_merge_data(readers, settings, esp):
    settings.DIGEST_SEND_MODE = "batch"
    dispatch_due_digests()
    assert len(esp.calls) == 1
    assert sorted(esp.calls[0]) == sorted(r.email for r in readers)
    (message,) = mail.outbox
    params = esp_params(message)
    assert set(params["merge_data"]) == {r.email for r in readers}
    first = readers[0].email
    assert params["merge_data"][first]["unsubscribe_url"].startswith("http")
    assert params["merge_headers"][first]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert params["merge_metadata"][first]["delivery_id"].isdigit()
    assert "{{unsubscribe_url}}" in first_alternative(message)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_sending_a_chunk_takes_few_queries_in_batch_mode(readers, settings, django_assert_max_num_queries):
    settings.DIGEST_SEND_MODE = "batch"
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    # claim (2 statements with row locks, 3 without), editions, one bulk update;
    # plus a BEGIN/COMMIT or savepoint pair around the claim and the bulk update
    with django_assert_max_num_queries(8):
        send_chunk(captured[0])


def test_bounce_event_marks_the_delivery(readers):
    dispatch_due_digests()
    row = Delivery.objects.first()
    assert row is not None
    event = EmailEvent.objects.create(
        esp_name="Test",
        event_id="e1",
        event_type="bounced",
        recipient=row.subscriber.email,
        delivery_id=row.pk,
    )
    email_event_recorded.send(sender=EmailEvent, event=event)
    opened = EmailEvent.objects.create(
        esp_name="Test", event_id="e2", event_type="opened", delivery_id=row.pk
    )
    email_event_recorded.send(sender=EmailEvent, event=opened)
    row.refresh_from_db()
    assert row.status == Delivery.Status.BOUNCED
    assert row.opened_at is not None


def test_enqueue_chunk_runs_the_send_task(readers):
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    enqueue_chunk(captured[0])
    assert len(mail.outbox) == 5


def test_beat_start_up_dispatches_once_to_catch_up_missed_hours(monkeypatch):
    from celery.signals import beat_init

    from config.celery_app import app

    sent: list[str] = []
    monkeypatch.setattr(app, "send_task", lambda name, *a, **k: sent.append(name))  # the broker call
    beat_init.send(sender=None)
    assert sent == ["digest.tasks.dispatch_due_digests"]


def test_kill_switch_flipped_mid_run_stops_queued_chunks_until_lifted(readers, caplog):
    captured: list[list[int]] = []
    dispatch_due(enqueue=captured.append)
    SendingSettings.objects.filter(pk=1).update(sending_paused=True)
    assert send_delivery_chunk(captured[0])["paused"] is True
    assert mail.outbox == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}
    assert "paused" in caplog.text
    SendingSettings.objects.filter(pk=1).update(sending_paused=False)
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        dispatch_due_digests()
    assert _sent_to() == sorted(r.email for r in readers)


def test_lost_rows_are_handed_out_in_chunks_once_per_timeout(readers, settings):
    dispatch_due(enqueue=lambda ids: None)  # the broker lost the tasks
    settings.DIGEST_CHUNK_SIZE = 2
    later = NOW + dt.timedelta(minutes=30)
    handed: list[list[int]] = []
    with time_machine.travel(later, tick=False):
        assert dispatch_due(enqueue=handed.append).requeued == 5
        assert [len(ids) for ids in handed] == [2, 2, 1]
        assert dispatch_due(enqueue=handed.append).requeued == 0  # just handed out: not lost yet
    with time_machine.travel(later + dt.timedelta(minutes=30), tick=False):
        assert dispatch_due(enqueue=handed.append).requeued == 5  # still not sent: out again
    assert mail.outbox == []
