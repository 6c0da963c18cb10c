"""/metrics: Prometheus text, from the database, for a token or a trusted network only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from digest.models import Delivery, JobRun
from subscriptions.models import EmailEvent
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


@pytest.fixture
def activity():
    today = timezone.now().date()
    DeliveryFactory.create_batch(2, status=Delivery.Status.SENT, digest_date=today)
    DeliveryFactory(status=Delivery.Status.FAILED, digest_date=today)
    DeliveryFactory(status=Delivery.Status.SENT, digest_date=today - dt.timedelta(days=1))
    DeliveryFactory(status=Delivery.Status.SENT, digest_date=today - dt.timedelta(days=30))  # too old
    EmailEvent.objects.create(esp_name="postmark", event_id="e1", event_type="bounced", bounce="hard")
    now = timezone.now()
    for seconds, ok, items in ((40, True, 120), (20, False, 0)):
        started = now - dt.timedelta(seconds=seconds)
        JobRun.objects.create(
            kind=JobRun.Kind.INGEST_HF, started_at=started, finished_at=now, ok=ok, items=items
        )
    return today


def test_a_scraper_with_the_token_gets_digests_bounces_and_jobs(client, settings, activity):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    settings.METRICS_ALLOWED_NETWORKS = []
    answer = client.get("/metrics", headers={"authorization": "Bearer s3cret-token-for-tests"})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    samples = _samples(answer.content.decode())
    today, yesterday = activity.isoformat(), (activity - dt.timedelta(days=1)).isoformat()
    assert samples[("paperboy_digests", (("day", today), ("outcome", "sent")))] == 2
    assert samples[("paperboy_digests", (("day", today), ("outcome", "failed")))] == 1
    assert samples[("paperboy_digests", (("day", yesterday), ("outcome", "sent")))] == 1
    assert not any(
        labels and ("day", (activity - dt.timedelta(days=30)).isoformat()) in labels for _, labels in samples
    )
    assert samples[("paperboy_bounces", (("day", today), ("kind", "hard")))] == 1
    assert samples[("paperboy_job_runs_total", (("job", "ingest-hf"), ("outcome", "ok")))] == 1
    assert samples[("paperboy_job_runs_total", (("job", "ingest-hf"), ("outcome", "failed")))] == 1
    assert samples[("paperboy_job_duration_seconds_total", (("job", "ingest-hf"),))] == pytest.approx(60)
    assert samples[("paperboy_job_items_total", (("job", "ingest-hf"),))] == 120
    assert ("paperboy_job_last_success_timestamp_seconds", (("job", "ingest-hf"),)) in samples


@pytest.mark.parametrize(
    ("headers", "peer"),
    [
        ({}, "203.0.113.5"),
        ({"authorization": "Bearer wrong"}, "203.0.113.5"),
        ({"authorization": "s3cret-token-for-tests"}, "203.0.113.5"),
        ({"x-forwarded-for": "127.0.0.1"}, "203.0.113.5"),
        ({"x-forwarded-for": "203.0.113.5"}, "127.0.0.1"),  # a proxy on this host
        ({"forwarded": "for=203.0.113.5"}, "127.0.0.1"),
    ],
)
def test_anyone_else_is_refused(client, settings, activity, headers, peer):
    settings.METRICS_TOKEN = "s3cret-token-for-tests"
    answer = client.get("/metrics", headers=headers, REMOTE_ADDR=peer)
    assert answer.status_code == 403
    assert "paperboy_digests" not in answer.content.decode()


def test_without_a_token_only_the_allowed_networks_may_scrape(client, settings, activity):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
