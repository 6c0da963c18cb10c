"""Postmark tracking webhooks, posted as Postmark sends them, through anymail's real view."""

from __future__ import annotations

import base64
import json

import pytest

from subscriptions.models import EmailEvent, Subscriber
from subscriptions.signals import email_event_recorded
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/tracking/"
SECRET = "esp:s3cret"


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    return SECRET


def _auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def _post(client, payload, secret=SECRET):
    return client.post(URL, json.dumps(payload), content_type="application/json", **_auth(secret))


def bounce(email, *, kind="HardBounce", event_id=4323372036854775807, delivery_id="42"):
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": event_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "Tag": "digest",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"delivery_id": delivery_id},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "digest@paperboy.localhost",
        "BouncedAt": "2026-03-01T07:01:02.9070259Z",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "Your papers for 1 March",
    }


def delivery(email, delivery_id="42"):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": "00000000-0000-0000-0000-000000000042",
        "Recipient": email,
        "Tag": "digest",
        "DeliveredAt": "2026-03-01T07:00:05.1234567Z",
        "Details": "Test delivery webhook details",
        "Metadata": {"delivery_id": delivery_id},
    }


def complaint(email):
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "outbound",
        "ID": 42,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "digest",
        "MessageID": "00000000-0000-0000-0000-000000000043",
        "Metadata": {"delivery_id": "43"},
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "digest@paperboy.localhost",
        "BouncedAt": "2026-03-01T07:05:00.0000000Z",
    }


def subscription_change(email, reason="ManualSuppression"):
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": "00000000-0000-0000-0000-000000000044",
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-03-01T08:00:00.416071Z",
        "Recipient": email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": reason,
        "Tag": "digest",
        "Metadata": {"delivery_id": "44"},
    }


def test_webhook_without_basic_auth_is_refused_and_stores_nothing(client, webhook_secret):
    reader = SubscriberFactory(email="gone@example.com")

    no_auth = client.post(URL, json.dumps(bounce(reader.email)), content_type="application/json")
    wrong = _post(client, bounce(reader.email), secret="esp:wrong")

    assert no_auth.status_code == 400
    assert wrong.status_code == 400
    assert not EmailEvent.objects.exists()
    reader.refresh_from_db()
    assert reader.status == "active"


def test_hard_bounce_is_stored_and_suppresses_the_reader(client, webhook_secret):
    reader = SubscriberFactory(email="Gone@example.com")

    response = _post(client, bounce("Gone@Example.com"))

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.esp_name, event.event_id, event.event_type) == (
        "Postmark",
        "4323372036854775807",
        "bounced",
    )
    assert (event.subscriber, event.delivery_id, event.reject_reason) == (reader, 42, "bounced")
    assert event.message_id == "883953f4-6105-42a2-a16a-77a8eac79483"
    assert event.raw["Type"] == "HardBounce"
    assert event.processed_at is not None
    assert event.error == ""
    reader.refresh_from_db()
    assert reader.status == "bounced"
    from subscriptions.services import is_suppressed

    assert is_suppressed("gone@example.com")


def test_same_webhook_twice_changes_nothing(client, webhook_secret):
    SubscriberFactory(email="reader@example.com")
    heard = []

    def listener(sender, event, **kwargs):
        heard.append(event.pk)

    email_event_recorded.connect(listener)
    try:
        for _ in range(2):
            assert _post(client, delivery("reader@example.com")).status_code == 200
            assert (
                _post(client, bounce("reader@example.com", kind="SoftBounce", event_id=7)).status_code == 200
            )
    finally:
        email_event_recorded.disconnect(listener)

    assert EmailEvent.objects.count() == 2
    assert Subscriber.objects.get().soft_bounce_count == 1
    assert len(heard) == 2
    delivered = EmailEvent.objects.get(event_type="delivered")
    assert delivered.event_id.startswith("sha256:")  # Postmark deliveries carry no ID


def test_complaint_marks_the_reader_complained(client, webhook_secret):
    reader = SubscriberFactory(email="angry@example.com")

    _post(client, complaint("angry@example.com"))

    reader.refresh_from_db()
    assert reader.status == "complained"


def test_esp_side_unsubscribe_unsubscribes(client, webhook_secret):
    reader = SubscriberFactory(email="leaver@example.com")

    _post(client, subscription_change("leaver@example.com"))

    reader.refresh_from_db()
    assert reader.status == "unsubscribed"
    assert reader.unsubscribe_reason == "esp:Postmark"
    assert reader.unsubscribed_at is not None


def test_soft_bounces_in_a_row_suppress_and_a_delivery_resets_the_count(client, settings, webhook_secret):
    settings.SOFT_BOUNCE_LIMIT = 3
    reader = SubscriberFactory(email="full@example.com")

    _post(client, bounce(reader.email, kind="SoftBounce", event_id=1))
    _post(client, bounce(reader.email, kind="SoftBounce", event_id=2))
    _post(client, delivery(reader.email))
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounce_count) == ("active", 0)

    for event_id in (3, 4, 5):
        _post(client, bounce(reader.email, kind="SoftBounce", event_id=event_id))

    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounce_count) == ("bounced", 3)


def test_event_for_an_unknown_recipient_is_stored_without_a_reader(client, webhook_secret):
    _post(client, bounce("nobody@example.com", delivery_id="not-a-number"))

    event = EmailEvent.objects.get()
    assert event.subscriber is None
    assert event.delivery_id is None
    assert event.processed_at is not None


def test_a_failing_listener_never_loses_the_event(client, webhook_secret):
    reader = SubscriberFactory(email="reader@example.com")

    def broken(sender, event, **kwargs):
        raise RuntimeError("digest side exploded")

    email_event_recorded.connect(broken)
    try:
        response = _post(client, bounce(reader.email))
    finally:
        email_event_recorded.disconnect(broken)

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert "digest side exploded" in event.error
    reader.refresh_from_db()
    assert reader.status == "bounced"


def test_a_failing_action_is_rolled_back_and_recorded(client, settings, webhook_secret):
    reader = SubscriberFactory(email="reader@example.com")
    settings.SOFT_BOUNCE_LIMIT = "three"  # a broken setting makes the soft-bounce action raise

    response = _post(client, bounce(reader.email, kind="SoftBounce", event_id=9))

    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert "TypeError" in event.error
    assert event.processed_at is not None
    reader.refresh_from_db()
    assert (reader.status, reader.soft_bounce_count) == ("active", 0)  # the savepoint rolled back


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        '"just a string"',
        "null",
        '{"RecordType": []}',
        '{"FromFull": {"Email": "x@example.com"}}',
    ],
)
def test_malformed_payload_with_valid_auth_gets_400_and_stores_nothing(client, webhook_secret, body):
    response = client.post(URL, body, content_type="application/json", **_auth(SECRET))

    assert response.status_code == 400
    assert not EmailEvent.objects.exists()


def test_webhook_urls_keep_anymails_names():
    from django.urls import reverse

    assert reverse("anymail:postmark_tracking_webhook") == URL
