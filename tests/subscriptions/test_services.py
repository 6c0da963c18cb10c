from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from subscriptions import services
from subscriptions.emails import email_hash
from subscriptions.models import EmailEvent, Subscriber, Suppression
from subscriptions.selectors import mailable_subscribers
from tests.commit import committed
from tests.factories import SubscriberFactory
from tests.sent_mail import anymail_message, first_alternative

pytestmark = pytest.mark.django_db


def _request(email="reader@example.com", topics=(), **overrides: Any) -> None:
    values: dict[str, Any] = {
        "frequency": "daily",
        "weekday": 0,
        "delivery_hour": 7,
        "time_zone": "Europe/Berlin",
    }
    values.update(overrides)
    with committed():
        services.request_subscription(
            email=email,
            preferences=services.Preferences(topics=tuple(topics), **values),
            ip="203.0.113.5",
            user_agent="pytest",
        )


def test_new_address_becomes_pending_and_gets_one_confirmation_email(anymail_backend, topics):
    _request(email=" Reader@Example.COM", topics=topics[:2])

    subscriber = Subscriber.objects.get()
    assert subscriber.email == "Reader@example.com"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.topic_key == f"{topics[0].pk},{topics[1].pk}"
    assert subscriber.timezone == "Europe/Berlin"
    assert subscriber.consent_at is None
    assert (subscriber.consent_ip, subscriber.consent_user_agent) == ("203.0.113.5", "pytest")
    assert subscriber.consent_form_version == services.SIGNUP_FORM_VERSION
    assert len(mail.outbox) == 1
    message = anymail_message(mail.outbox[0])
    assert message.to == ["Reader@example.com"]
    assert message.subject == "Confirm your Paperboy subscription"
    assert "/confirm/" in message.body
    html = first_alternative(message)
    assert "/confirm/" in html
    assert 'style="' in html  # CSS inlined
    assert message.tags == ["account", "confirm"]
    assert message.metadata == {"kind": "confirm"}
    assert "List-Unsubscribe" not in message.extra_headers


def test_active_address_gets_manage_email_and_nothing_changes(anymail_backend, topics):
    reader = SubscriberFactory(email="reader@example.com", topics=[topics[0]], delivery_hour=9)
    before = Subscriber.objects.values().get(pk=reader.pk)

    _request(email="reader@example.com", topics=[topics[1]], delivery_hour=3)

    assert Subscriber.objects.values().get(pk=reader.pk) == before
    assert list(reader.topics.all()) == [topics[0]]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Manage your Paperboy subscription"
    assert "/preferences/" in mail.outbox[0].body
    assert "/unsubscribe/" in first_alternative(mail.outbox[0])


def test_unsubscribed_address_goes_back_to_pending_with_new_choices(anymail_backend, topics):
    reader = SubscriberFactory(
        email="back@example.com", status=Subscriber.Status.UNSUBSCRIBED, topics=[topics[0]]
    )

    _request(email="back@example.com", topics=[topics[1]], papers_per_email=20)

    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.PENDING
    assert reader.papers_per_email == 20
    assert reader.topic_key == str(topics[1].pk)
    assert mail.outbox[0].subject.startswith("Confirm")


@pytest.mark.parametrize("status", [Subscriber.Status.BOUNCED, Subscriber.Status.COMPLAINED])
def test_bounced_or_complained_address_gets_nothing(anymail_backend, topics, status):
    reader = SubscriberFactory(email="gone@example.com", status=status)
    services.suppress(subscriber=reader, reason=status.value)

    _request(email="gone@example.com", topics=topics[:1])

    reader.refresh_from_db()
    assert reader.status == status
    assert mail.outbox == []


def test_a_deleted_reader_can_sign_up_again_and_confirming_lifts_the_deletion_mark(anymail_backend, topics):
    Suppression.objects.create(email_hash=email_hash("deleted@example.com"), reason=services.DELETED)

    _request(email="Deleted@Example.com", topics=topics[:1])

    reader = Subscriber.objects.get()
    assert reader.status == Subscriber.Status.PENDING
    assert [m.to for m in mail.outbox] == [["Deleted@example.com"]]
    assert not services.is_suppressed("deleted@example.com")
    assert Suppression.objects.filter(reason=services.DELETED).exists()

    assert services.confirm_subscription(subscriber=reader, ip=None, user_agent="") is True
    assert not Suppression.objects.exists()


def test_request_with_invalid_preferences_writes_nothing(anymail_backend, topics):
    with pytest.raises(ValueError, match="time zone"):
        _request(topics=topics[:1], time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="topic"):
        _request(topics=[])

    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_the_confirmation_email_waits_for_the_commit_and_a_rollback_sends_none(anymail_backend, topics):
    with committed() as callbacks:
        services.request_subscription(
            email="later@example.com",
            preferences=services.Preferences(topics=tuple(topics[:1])),
            ip=None,
            user_agent="",
        )
        assert mail.outbox == []  # nothing leaves while the sign-up is uncommitted
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [["later@example.com"]]

    mail.outbox = []

    def failing_request() -> None:
        with transaction.atomic():
            services.request_subscription(
                email="rolled-back@example.com",
                preferences=services.Preferences(topics=tuple(topics[:1])),
                ip=None,
                user_agent="",
            )
            raise RuntimeError("the request fails after the service ran")

    with committed() as callbacks, pytest.raises(RuntimeError):
        failing_request()
    assert callbacks == []
    assert mail.outbox == []
    assert not Subscriber.objects.filter(email="rolled-back@example.com").exists()


def test_confirm_activates_and_records_consent(topics):
    reader = SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None, topics=topics[:2])

    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        assert (
            services.confirm_subscription(subscriber=reader, ip="198.51.100.7", user_agent="Firefox") is True
        )

    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.ACTIVE
    assert reader.confirmed_at == reader.consent_at == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert reader.consent_ip == "198.51.100.7"
    assert reader.consent_user_agent == "Firefox"
    assert reader.consent_topics == ["diffusion", "llm"]


def test_confirming_twice_keeps_the_first_consent(topics):
    reader = SubscriberFactory(status=Subscriber.Status.PENDING, topics=topics[:1])
    services.confirm_subscription(subscriber=reader, ip="198.51.100.7", user_agent="first")

    assert services.confirm_subscription(subscriber=reader, ip="198.51.100.8", user_agent="second") is True

    reader.refresh_from_db()
    assert reader.consent_user_agent == "first"


def test_confirm_does_not_reactivate_a_reader_who_left():
    reader = SubscriberFactory(status=Subscriber.Status.UNSUBSCRIBED)

    assert services.confirm_subscription(subscriber=reader, ip=None, user_agent="") is False

    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED


def test_resend_confirmation_only_for_pending(anymail_backend):
    pending = SubscriberFactory(status=Subscriber.Status.PENDING)
    active = SubscriberFactory()

    with committed():
        assert services.resend_confirmation(subscriber=pending) is True
        assert services.resend_confirmation(subscriber=active) is False
    assert [m.to for m in mail.outbox] == [[pending.email]]


def test_unsubscribe_records_status_time_and_reason_once():
    reader = SubscriberFactory()
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC), tick=False):
        assert services.unsubscribe(subscriber=reader, reason="link") is True
    with time_machine.travel(dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC), tick=False):
        assert services.unsubscribe(subscriber=reader, reason="one-click") is False

    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED
    assert reader.unsubscribed_at == dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    assert reader.unsubscribe_reason == "link"


def test_set_topics_keeps_topic_key_sorted_and_refuses_none(topics):
    reader = SubscriberFactory()
    services.set_topics(subscriber=reader, topics=[topics[1], topics[0], topics[1]])
    assert reader.topic_key == f"{topics[0].pk},{topics[1].pk}"
    assert Subscriber.objects.get(pk=reader.pk).topic_key == reader.topic_key

    with pytest.raises(ValueError, match="at least one"):
        services.set_topics(subscriber=reader, topics=[])
    assert reader.topics.count() == 2


def test_update_preferences_changes_everything_or_nothing(topics):
    reader = SubscriberFactory(topics=[topics[0]])
    services.update_preferences(
        subscriber=reader,
        preferences=services.Preferences(
            topics=(topics[1],),
            frequency="weekly",
            weekday=4,
            delivery_hour=18,
            time_zone="America/New_York",
            papers_per_email=20,
        ),
    )
    reader.refresh_from_db()
    assert (reader.frequency, reader.weekday, reader.delivery_hour) == ("weekly", 4, 18)
    assert (reader.timezone, reader.papers_per_email, reader.topic_key) == (
        "America/New_York",
        20,
        str(topics[1].pk),
    )

    with pytest.raises(ValueError, match="hour"):
        services.update_preferences(
            subscriber=reader,
            preferences=services.Preferences(topics=(topics[0],), delivery_hour=24, papers_per_email=5),
        )
    reader.refresh_from_db()
    assert (reader.frequency, reader.topic_key) == ("weekly", str(topics[1].pk))


def test_pause_counts_weeks_from_the_readers_local_date():
    reader = SubscriberFactory(timezone="Pacific/Auckland")
    # 20:00 UTC on 1 March is already 2 March in Auckland.
    with time_machine.travel(dt.datetime(2026, 3, 1, 20, tzinfo=dt.UTC), tick=False):
        until = services.pause(subscriber=reader, weeks=2)
    assert until == dt.date(2026, 3, 16)
    assert Subscriber.objects.get(pk=reader.pk).paused_until == until

    assert services.pause(subscriber=reader, weeks=0) is None
    assert Subscriber.objects.get(pk=reader.pk).paused_until is None
    with pytest.raises(ValueError, match="weeks"):
        services.pause(subscriber=reader, weeks=53)


def test_suppress_sets_status_and_keeps_only_a_hash():
    reader = SubscriberFactory(email="Bouncy@example.com")
    services.suppress(subscriber=reader, reason="bounced")
    services.suppress(subscriber=reader, reason="bounced")

    assert reader.status == Subscriber.Status.BOUNCED
    assert Suppression.objects.get().email_hash == email_hash("bouncy@example.com")
    assert services.is_suppressed("BOUNCY@example.com")
    assert reader not in mailable_subscribers()
    with pytest.raises(ValueError, match="reason"):
        services.suppress(subscriber=reader, reason="bored")


def test_delete_subscriber_removes_personal_data_and_suppresses(topics):
    reader = SubscriberFactory(email="leaver@example.com", topics=topics[:1])
    EmailEvent.objects.create(
        esp_name="Postmark", event_id="1", event_type="delivered", recipient=reader.email
    )
    EmailEvent.objects.create(esp_name="Postmark", event_id="2", event_type="opened", subscriber=reader)

    services.delete_subscriber(subscriber=reader)

    assert not Subscriber.objects.exists()
    assert not EmailEvent.objects.exists()
    assert Suppression.objects.get().reason == "deleted"
    assert Suppression.objects.get().email_hash != "leaver@example.com"
    assert not services.is_suppressed("leaver@example.com"), "a fresh, confirmed opt-in stays possible"


def test_export_data_is_everything_we_store_as_json_ready_values(topics):
    import json

    reader = SubscriberFactory(email="me@example.com", topics=topics[:2], consent_ip="192.0.2.1")
    data = services.export_data(subscriber=reader)

    assert data["email"] == "me@example.com"
    assert [t["slug"] for t in data["topics"]] == ["diffusion", "llm"]
    assert data["consent"]["ip"] == "192.0.2.1"
    assert json.loads(json.dumps(data)) == data


def test_mailable_subscribers_are_the_active_ones():
    active = SubscriberFactory()
    for status in ("pending", "unsubscribed", "bounced", "complained"):
        SubscriberFactory(status=status)

    assert list(mailable_subscribers()) == [active]


def test_confirmation_email_escapes_topic_names_in_html_and_keeps_text_plain(anymail_backend):
    from tests.factories import TopicFactory

    hostile = TopicFactory(name="<script>alert(1)</script> & Co", slug="hostile")

    _request(email="reader@example.com", topics=[hostile])

    [message] = mail.outbox
    html = first_alternative(message)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>alert(1)</script> & Co" in message.body
    assert "\n" not in message.subject


def test_an_address_in_other_letter_case_is_the_same_reader(anymail_backend, topics):
    reader = SubscriberFactory(email="Ada@example.com", topics=topics[:1])

    _request(email="ada@EXAMPLE.com", topics=topics[1:2])

    assert list(Subscriber.objects.all()) == [reader]
    assert mail.outbox[0].subject == "Manage your Paperboy subscription"
    assert mail.outbox[0].to == ["Ada@example.com"]
