"""Readers in admin: filters, actions through the services, CSV export without tokens."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.commit import committed
from tests.factories import SubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscriptions_subscriber_changelist"


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def topics():
    return [TopicFactory(name="Diffusion", slug="diffusion"), TopicFactory(name="Robotics", slug="robotics")]


def _act(client, action: str, readers: list[Subscriber]):
    data = {"action": action, "_selected_action": [r.pk for r in readers]}
    return client.post(reverse(CHANGELIST), data)


def test_subscriber_list_filters_by_status_topic_frequency_and_time_zone(client, editor, topics):
    berlin = SubscriberFactory(topics=[topics[0]], timezone="Europe/Berlin", frequency="weekly")
    SubscriberFactory(topics=[topics[1]], status=Subscriber.Status.PENDING)
    url = reverse(CHANGELIST)

    def shown(**params: object) -> list[Subscriber]:
        return list(client.get(url, params).context["cl"].result_list)

    assert shown(status__exact="active") == [berlin]
    assert shown(topics__id__exact=topics[0].pk) == [berlin]
    assert shown(frequency__exact="weekly") == [berlin]
    assert shown(timezone="Europe/Berlin") == [berlin]
    assert shown(q=berlin.email.upper()) == [berlin]


def test_csv_export_has_status_topics_and_dates_but_no_tokens(client, editor, topics):
    reader = SubscriberFactory(topics=topics, email="=cmd@example.com")
    response = _act(client, "export_csv", [reader])

    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    assert rows[0]["status"] == "active"
    assert rows[0]["topics"] == "diffusion;robotics"
    assert reader.confirmed_at is not None
    assert rows[0]["confirmed_at"].startswith(str(reader.confirmed_at.date()))
    assert rows[0]["email"] == "'=cmd@example.com"  # never a spreadsheet formula
    assert str(reader.token_key) not in body
    assert "token" not in body.lower()


def test_unsubscribe_action_stops_mail_and_is_logged(client, editor, topics):
    reader = SubscriberFactory(topics=topics)
    _act(client, "unsubscribe", [reader])
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert reader.unsubscribe_reason == "admin"
    assert reader.unsubscribed_at is not None


def test_resend_confirmation_mails_pending_readers_only(client, editor, topics, anymail_backend):
    pending = SubscriberFactory(topics=topics, status=Subscriber.Status.PENDING, confirmed_at=None)
    active = SubscriberFactory(topics=topics)
    with committed():
        _act(client, "resend_confirmation", [pending, active])
    assert [m.to for m in mail.outbox] == [[pending.email]]


def test_topic_edit_goes_through_set_topics_and_consent_stays_read_only(client, editor, topics):
    reader = SubscriberFactory(topics=[topics[0]], consent_ip="203.0.113.9")
    url = reverse("admin:subscriptions_subscriber_change", args=[reader.pk])
    assert client.get(url).status_code == 200
    post = {
        "topics": [topics[1].pk],
        "frequency": "daily",
        "weekday": "0",
        "delivery_hour": "8",
        "timezone": "Europe/Paris",
        "papers_per_email": "10",
        "paused_until": "",
        "consent_ip": "198.51.100.1",
        "status": "unsubscribed",
    }
    assert client.post(url, post).status_code == 302
    reader.refresh_from_db()
    assert reader.topic_key == str(topics[1].pk)
    assert (reader.delivery_hour, reader.timezone) == (8, "Europe/Paris")
    assert reader.consent_ip == "203.0.113.9"
    assert reader.status == Subscriber.Status.ACTIVE


def test_bad_time_zone_or_no_topic_is_refused_and_changes_nothing(client, editor, topics):
    reader = SubscriberFactory(topics=[topics[0]])
    url = reverse("admin:subscriptions_subscriber_change", args=[reader.pk])
    post = {"frequency": "daily", "weekday": "0", "delivery_hour": "8", "papers_per_email": "10"}
    response = client.post(url, {**post, "topics": [], "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"topics", "timezone"}
    reader.refresh_from_db()
    assert (reader.topic_key, reader.timezone) == (str(topics[0].pk), "UTC")


def test_readers_cannot_be_added_by_hand(client, editor):
    assert client.get(reverse("admin:subscriptions_subscriber_add")).status_code == 403


def test_subscriber_list_runs_a_fixed_number_of_queries(
    client, editor, topics, django_assert_max_num_queries
):
    SubscriberFactory.create_batch(2, topics=topics)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse(CHANGELIST))
    SubscriberFactory.create_batch(20, topics=topics)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(CHANGELIST))
