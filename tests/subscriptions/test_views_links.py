from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscriber
from subscriptions.tokens import Purpose, make_token
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def _url(name: str, subscriber: Subscriber, purpose: Purpose) -> str:
    return reverse(f"subscriptions:{name}", args=[make_token(subscriber, purpose)])


def _prefs(reader):
    return _url("preferences", reader, Purpose.MANAGE)


# --- confirm ---------------------------------------------------------------------


def test_opening_the_confirm_link_shows_a_button_and_changes_nothing(client, topics):
    reader = SubscriberFactory(status="pending", confirmed_at=None, topics=topics[:1])
    for _ in range(3):  # mail scanners open links, sometimes several times
        response = client.get(_url("confirm", reader, Purpose.CONFIRM))
        assert response.status_code == 200
    body = response.content.decode()
    assert "Yes, send me the digest" in body
    assert 'method="post"' in body
    reader.refresh_from_db()
    assert (reader.status, reader.confirmed_at, reader.consent_at) == ("pending", None, None)


def test_confirm_button_activates_and_records_consent(client, topics):
    reader = SubscriberFactory(status="pending", confirmed_at=None, topics=topics[:1])

    response = client.post(
        _url("confirm", reader, Purpose.CONFIRM), REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT="TestBrowser/1"
    )

    assert response.status_code == 200
    assert "You're subscribed" in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == "active"
    assert (reader.consent_ip, reader.consent_user_agent, reader.consent_topics) == (
        "192.0.2.44",
        "TestBrowser/1",
        ["diffusion"],
    )
    assert "/preferences/" in response.content.decode()


def test_confirm_link_expires_after_seven_days(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        reader = SubscriberFactory(status="pending")
        url = _url("confirm", reader, Purpose.CONFIRM)
    with time_machine.travel(dt.datetime(2026, 1, 8, 0, 1, tzinfo=dt.UTC), tick=False):
        response = client.get(url)

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == "pending"


def test_confirm_link_still_works_within_seven_days(client):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        reader = SubscriberFactory(status="pending")
        url = _url("confirm", reader, Purpose.CONFIRM)
    with time_machine.travel(dt.datetime(2026, 1, 7, 23, tzinfo=dt.UTC), tick=False):
        assert client.get(url).status_code == 200


def test_confirm_after_unsubscribing_changes_nothing(client):
    reader = SubscriberFactory(status="unsubscribed")

    assert client.get(_url("confirm", reader, Purpose.CONFIRM)).status_code == 409
    response = client.post(_url("confirm", reader, Purpose.CONFIRM))

    assert response.status_code == 409
    reader.refresh_from_db()
    assert reader.status == "unsubscribed"


@pytest.mark.parametrize("name", ["confirm", "preferences", "unsubscribe"])
def test_tampered_tokens_get_a_clear_400_and_change_nothing(client, name):
    reader = SubscriberFactory(status="pending")
    purpose = {"confirm": Purpose.CONFIRM, "preferences": Purpose.MANAGE, "unsubscribe": Purpose.UNSUBSCRIBE}[
        name
    ]
    token = make_token(reader, purpose)
    before = Subscriber.objects.values().get()

    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "garbage", token + "x", "x" * 300):
        for method in ("get", "post"):
            response = getattr(client, method)(f"/{'preferences' if name == 'preferences' else name}/{bad}/")
            assert response.status_code in (400, 405), (bad, method)
            if response.status_code == 400:
                assert "This link does not work" in response.content.decode()

    assert Subscriber.objects.values().get() == before


def test_a_token_for_one_purpose_opens_no_other_page(client):
    reader = SubscriberFactory(status="pending")
    confirm_token = make_token(reader, Purpose.CONFIRM)
    manage_token = make_token(reader, Purpose.MANAGE)

    assert client.get(f"/unsubscribe/{confirm_token}/").status_code == 400
    assert client.post(f"/unsubscribe/{manage_token}/", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get(f"/preferences/{confirm_token}/").status_code == 400
    assert client.get(f"/confirm/{manage_token}/").status_code == 400
    reader.refresh_from_db()
    assert reader.status == "pending"


def test_token_of_a_deleted_reader_is_unknown(client):
    reader = SubscriberFactory()
    url = _prefs(reader)
    reader.delete()

    response = client.get(url)

    assert response.status_code == 404
    assert "no subscription for this link" in response.content.decode()


def test_tokens_do_not_expose_the_primary_key_or_email():
    reader = SubscriberFactory(email="secret@example.com")
    token = make_token(reader, Purpose.MANAGE)

    assert "secret" not in token
    assert token.split(":")[0] == reader.token_key.hex


# --- preferences -------------------------------------------------------------------


def test_preferences_page_shows_current_choices(client, topics):
    reader = SubscriberFactory(
        email="me@example.com", topics=[topics[1]], timezone="Asia/Tokyo", delivery_hour=6
    )

    response = client.get(_prefs(reader))

    html = response.content.decode()
    assert response.status_code == 200
    assert "me@example.com" in html
    assert f'value="{topics[1].pk}"' in html
    assert response.context["form"].initial["timezone"] == "Asia/Tokyo"
    assert '<option value="Asia/Tokyo" selected>' in html
    assert '<option value="6" selected>06:00</option>' in html
    assert "/unsubscribe/" in html


def test_preferences_post_saves_and_redirects(client, topics):
    reader = SubscriberFactory(topics=[topics[0]])
    url = _prefs(reader)

    response = client.post(
        url,
        {
            "topics": [topics[1].pk],
            "frequency": "weekly",
            "weekday": "6",
            "delivery_hour": "21",
            "timezone": "America/Chicago",
            "papers_per_email": "20",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == url + "?saved=preferences"
    reader.refresh_from_db()
    assert (reader.frequency, reader.weekday, reader.delivery_hour) == ("weekly", 6, 21)
    assert (reader.timezone, reader.papers_per_email, reader.topic_key) == (
        "America/Chicago",
        20,
        str(topics[1].pk),
    )
    assert "Saved." in client.get(response["Location"]).content.decode()


def test_bad_preferences_post_changes_nothing(client, topics):
    reader = SubscriberFactory(topics=[topics[0]])
    before = Subscriber.objects.values().get()

    response = client.post(
        _prefs(reader),
        {
            "topics": [],
            "frequency": "daily",
            "delivery_hour": "7",
            "timezone": "UTC",
            "papers_per_email": "10",
        },
    )

    assert response.status_code == 400
    assert "Choose at least one topic, or follow a keyword or an author." in response.content.decode()
    assert Subscriber.objects.values().get() == before


def test_one_readers_token_never_changes_another_reader(client, topics):
    me = SubscriberFactory(topics=[topics[0]])
    other = SubscriberFactory(topics=[topics[0]])

    client.post(
        _prefs(me),
        {
            "topics": [topics[1].pk],
            "frequency": "daily",
            "delivery_hour": "7",
            "timezone": "UTC",
            "papers_per_email": "5",
        },
    )

    other.refresh_from_db()
    assert other.topic_key == str(topics[0].pk)
    assert other.papers_per_email == 10


def test_pause_and_resume_from_preferences(client):
    reader = SubscriberFactory(timezone="UTC")
    token = make_token(reader, Purpose.MANAGE)

    with time_machine.travel(dt.datetime(2026, 5, 4, 10, tzinfo=dt.UTC), tick=False):
        response = client.post(reverse("subscriptions:pause", args=[token]), {"weeks": "4"})
    assert response.status_code == 302
    reader.refresh_from_db()
    assert reader.paused_until == dt.date(2026, 6, 1)
    assert "Paused until 1 June 2026" in client.get(response["Location"]).content.decode()

    assert client.post(reverse("subscriptions:pause", args=[token]), {"weeks": "99"}).status_code == 400
    reader.refresh_from_db()
    assert reader.paused_until == dt.date(2026, 6, 1)

    client.post(reverse("subscriptions:resume", args=[token]))
    reader.refresh_from_db()
    assert reader.paused_until is None


def test_download_my_data_is_a_json_attachment(client, topics):
    reader = SubscriberFactory(email="me@example.com", topics=topics[:1])

    response = client.get(reverse("subscriptions:export", args=[make_token(reader, Purpose.MANAGE)]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "me@example.com"
    assert data["topics"] == [{"slug": "diffusion", "name": "Diffusion models"}]


def test_delete_me_needs_the_box_ticked_then_removes_everything(client):
    reader = SubscriberFactory(email="bye@example.com")
    url = reverse("subscriptions:delete", args=[make_token(reader, Purpose.MANAGE)])

    assert client.post(url, {}).status_code == 400
    assert Subscriber.objects.exists()
    assert client.get(url).status_code == 405

    response = client.post(url, {"confirm": "on"})

    assert response.status_code == 200
    assert "Your data is deleted" in response.content.decode()
    assert not Subscriber.objects.exists()
    from subscriptions.models import Suppression

    assert list(Suppression.objects.values_list("reason", flat=True)) == ["deleted"]


# --- unsubscribe -------------------------------------------------------------------


def test_unsubscribe_get_only_shows_a_button(client):
    reader = SubscriberFactory()

    response = client.get(_url("unsubscribe", reader, Purpose.UNSUBSCRIBE))

    assert response.status_code == 200
    assert '<button type="submit" class="button danger">Unsubscribe</button>' in response.content.decode()
    reader.refresh_from_db()
    assert reader.status == "active"


def test_unsubscribe_button_post_unsubscribes_at_once():
    browser = Client(enforce_csrf_checks=True)
    reader = SubscriberFactory()
    url = _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)
    page = browser.get(url)
    csrf = page.context["csrf_token"]

    response = browser.post(url, {"csrfmiddlewaretoken": str(csrf)})

    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    reader.refresh_from_db()
    assert (reader.status, reader.unsubscribe_reason) == ("unsubscribed", "link")
    assert reader.unsubscribed_at is not None


def test_unsubscribe_post_without_csrf_and_without_one_click_body_is_refused():
    reader = SubscriberFactory()
    url = _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)

    for body in ({}, {"List-Unsubscribe": "Yes"}, {"anything": "One-Click"}):
        response = Client(enforce_csrf_checks=True).post(url, body)
        assert response.status_code == 403

    reader.refresh_from_db()
    assert reader.status == "active"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_rfc8058_one_click_post_works_without_csrf_or_cookie(content_type):
    reader = SubscriberFactory()
    url = _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)
    client = Client(enforce_csrf_checks=True)

    if content_type == "multipart/form-data":
        response = client.post(url, {"List-Unsubscribe": "One-Click"})
    else:
        response = client.post(url, "List-Unsubscribe=One-Click", content_type=content_type)

    assert 200 <= response.status_code < 300
    assert not response.cookies
    reader.refresh_from_db()
    assert (reader.status, reader.unsubscribe_reason) == ("unsubscribed", "one-click")


def test_one_click_repeated_is_harmless():
    reader = SubscriberFactory()
    url = _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)
    client = Client(enforce_csrf_checks=True)
    client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    first = Subscriber.objects.get().unsubscribed_at

    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at == first
    assert "already unsubscribed" in client.get(url).content.decode()


def test_one_click_for_a_reader_who_deleted_their_data_still_answers_2xx():
    reader = SubscriberFactory()
    url = _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)
    from subscriptions.services import delete_subscriber

    delete_subscriber(subscriber=reader)
    client = Client(enforce_csrf_checks=True)

    one_click = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert one_click.status_code == 200
    assert client.get(url).status_code == 404


def test_personal_pages_are_never_cached_nor_indexed(client):
    reader = SubscriberFactory()

    for url in (_prefs(reader), _url("unsubscribe", reader, Purpose.UNSUBSCRIBE)):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"]
        assert '<meta name="robots" content="noindex">' in response.content.decode()
