"""/healthz/: what it checks, when it says 503, what it costs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import OperationalError
from django.utils import timezone

from config.beat import beat_heartbeat
from config.celery_app import app
from digest.models import Delivery, JobRun, SendingSettings
from tests.factories import DeliveryFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def _run(kind: JobRun.Kind, *, ago: dt.timedelta, ok: bool = True) -> JobRun:
    finished = timezone.now() - ago
    return JobRun.objects.create(
        kind=kind, started_at=finished - dt.timedelta(seconds=30), finished_at=finished, ok=ok, items=3
    )


def test_a_fresh_install_is_healthy_and_says_what_it_checked(client, settings, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        answer = client.get("/healthz/")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ok"
    assert body["problems"] == []
    assert body["database"] == {"ok": True}
    # Redis in CI (REDIS_URL); none (Celery in-process) in a plain `make test`
    assert body["broker"] == {"ok": True, "configured": not settings.CELERY_TASK_ALWAYS_EAGER}
    assert body["jobs"]["dispatch"]["last_success_age_s"] is None  # never ran: not a fault
    assert body["sending_paused"] is False
    assert body["deliveries"]["queued"] == body["deliveries"]["failed"] == 0


def test_recent_runs_are_healthy_and_a_stale_job_is_503(client, settings):
    settings.HEALTH_CACHE_SECONDS = 0
    _run(JobRun.Kind.INGEST_HF, ago=dt.timedelta(hours=2))
    _run(JobRun.Kind.DISPATCH, ago=dt.timedelta(minutes=10))
    body = client.get("/healthz/").json()
    assert body["status"] == "ok"
    assert 7100 < body["jobs"]["ingest-hf"]["last_success_age_s"] < 7300
    _run(JobRun.Kind.DISPATCH, ago=dt.timedelta(minutes=1), ok=False)  # a failure is no success
    _run(JobRun.Kind.INGEST_HF, ago=dt.timedelta(hours=30))  # an older success changes nothing
    JobRun.objects.filter(kind=JobRun.Kind.DISPATCH, ok=True).update(
        finished_at=timezone.now() - dt.timedelta(hours=3)
    )
    stale = client.get("/healthz/")
    assert stale.status_code == 503
    body = stale.json()
    assert body["status"] == "unhealthy"
    assert body["jobs"]["dispatch"]["stale"] is True
    assert body["jobs"]["ingest-hf"]["stale"] is False
    assert any(problem.startswith("dispatch: last success") for problem in body["problems"])


def test_answers_are_kept_a_few_seconds(client, django_assert_num_queries):
    client.get("/healthz/")
    with django_assert_num_queries(0):
        assert client.get("/healthz/").status_code == 200


def test_the_kill_switch_and_waiting_or_failed_deliveries_are_reported_without_personal_data(client):
    settings_row = SendingSettings.load()
    settings_row.sending_paused = True
    settings_row.save()
    reader = SubscriberFactory(email="private.reader@example.org")
    DeliveryFactory(subscriber=reader, status=Delivery.Status.FAILED, error="550 mailbox unavailable")
    DeliveryFactory(status=Delivery.Status.QUEUED)
    answer = client.get("/healthz/")
    body = answer.json()
    assert body["sending_paused"] is True
    assert (body["deliveries"]["queued"], body["deliveries"]["failed"]) == (1, 1)
    assert "private.reader" not in answer.content.decode()
    assert "550" not in answer.content.decode()


def test_an_unreachable_database_is_503(client, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(JobRun.objects, "filter", broken)
    answer = client.get("/healthz/")
    assert answer.status_code == 503
    assert answer.json()["database"] == {"ok": False, "error": "OperationalError"}
    assert "database unreachable" in answer.json()["problems"]


def test_an_unreachable_broker_is_503(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:9/0")  # nothing listens there
    answer = client.get("/healthz/")
    assert answer.status_code == 503
    assert answer.json()["broker"]["ok"] is False
    assert "broker unreachable" in answer.json()["problems"]


def test_beat_heartbeat_shows_its_age(client, settings, tmp_path):
    settings.BEAT_HEARTBEAT_FILE = str(tmp_path / "beat" / "heartbeat")
    beat_heartbeat()
    assert (tmp_path / "beat" / "heartbeat").read_text().strip().isdigit()
    body = json.loads(client.get("/healthz/").content)
    assert 0 <= body["beat"]["heartbeat_age_s"] < 5
