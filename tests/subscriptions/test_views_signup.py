from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.commit import committed
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/"


def test_home_page_shows_the_form_with_labels_and_active_topics_only(client, topics):
    response = client.get(SIGNUP)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_email">Email</label>' in html
    assert "Diffusion models" in html
    assert "Language models" in html
    assert "Retired topic" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<optgroup label="Europe">' in html
    assert '<option value="Europe/Paris">Paris</option>' in html
    assert "js/signup.js" in html
    assert 'name="website"' in html  # honeypot present, hidden by CSS


def test_home_page_shows_the_sidebar_provider_papers(client, settings, topics):
    settings.SIGNUP_SIDEBAR_PROVIDER = "tests.subscriptions.test_views_signup.fake_sidebar"

    html = client.get(SIGNUP).content.decode()

    assert "A &lt;b&gt;bold&lt;/b&gt; paper" in html
    assert "https://arxiv.org/abs/2501.00001" in html


def fake_sidebar(limit: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "title": "A <b>bold</b> paper",
            "url": "https://arxiv.org/abs/2501.00001",
            "upvotes": 3,
            "topics": ["x"],
        }
    ]


def broken_sidebar(limit: int = 5) -> list[dict[str, Any]]:
    raise RuntimeError("catalog down")


@pytest.mark.parametrize(
    "provider", ["tests.subscriptions.test_views_signup.broken_sidebar", "no.such.module"]
)
def test_home_page_still_works_when_the_sidebar_provider_fails(client, settings, topics, provider):
    settings.SIGNUP_SIDEBAR_PROVIDER = provider

    response = client.get(SIGNUP)

    assert response.status_code == 200
    assert "Today's papers appear here" in response.content.decode()


def test_signup_redirects_to_check_your_inbox_and_sends_confirmation(client, anymail_backend, signup_data):
    with committed():
        response = client.post(SIGNUP, signup_data)

    assert response.status_code == 302
    assert response["Location"] == reverse("subscriptions:check_inbox")
    reader = Subscriber.objects.get()
    assert reader.email == "Reader@example.com"
    assert (reader.frequency, reader.weekday, reader.delivery_hour) == ("weekly", 2, 8)
    assert (reader.timezone, reader.papers_per_email, reader.status) == ("Europe/Paris", 5, "pending")
    assert len(mail.outbox) == 1
    assert "Check your inbox" in client.get(response["Location"]).content.decode()


def test_signup_response_is_the_same_whoever_the_address_is(client, anymail_backend, signup_data):
    SubscriberFactory(email="Reader@example.com")
    with committed():
        known = client.post(SIGNUP, signup_data)
        unknown = client.post(SIGNUP, {**signup_data, "email": "stranger@example.com"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.subject for m in mail.outbox] == [
        "Manage your Paperboy subscription",
        "Confirm your Paperboy subscription",
    ]


def test_honeypot_gets_the_same_page_and_nothing_happens(client, anymail_backend, signup_data):
    response = client.post(SIGNUP, {**signup_data, "website": "http://spam.example"})

    assert response.status_code == 302
    assert response["Location"] == reverse("subscriptions:check_inbox")
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"email": "a@example.com\r\nBcc: x@example.com"}, "email", "line breaks"),
        ({"email": "a" * 300 + "@example.com"}, "email", "at most"),
        ({"topics": []}, "topics", "Choose at least one topic, or follow a keyword or an author."),
        ({"topics": ["999999"]}, "topics", "Choose topics from the list."),
        ({"topics": ["abc"]}, "topics", "Choose topics from the list."),
        ({"delivery_hour": "24"}, "delivery_hour", "Select a valid choice"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
        ({"papers_per_email": "7"}, "papers_per_email", "Select a valid choice"),
        ({"frequency": "hourly"}, "frequency", "Select a valid choice"),
    ],
)
def test_bad_signup_gets_a_clear_error_and_writes_nothing(
    client, anymail_backend, signup_data, change, field, message
):
    response = client.post(SIGNUP, {**signup_data, **change})

    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert f'id="id_{field}-error"' in html or field in ("topics", "frequency", "papers_per_email")
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_inactive_topic_cannot_be_chosen(client, signup_data, topics):
    response = client.post(SIGNUP, {**signup_data, "topics": [str(topics[2].pk)]})

    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_signup_without_csrf_token_is_refused(signup_data):
    response = Client(enforce_csrf_checks=True).post(SIGNUP, signup_data)

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_too_many_signups_from_one_ip_get_a_friendly_429(client, settings, anymail_backend, signup_data):
    settings.SIGNUP_RATE_PER_IP = "2/h"
    for n in range(2):
        assert client.post(SIGNUP, {**signup_data, "email": f"r{n}@example.com"}).status_code == 302

    response = client.post(SIGNUP, {**signup_data, "email": "r3@example.com"})

    assert response.status_code == 429
    assert "Slow down" in response.content.decode()
    assert '<a class="brand" href="/">Paperboy</a>' in response.content.decode()
    assert Subscriber.objects.count() == 2


def test_too_many_signups_for_one_address_get_429_from_any_ip(anymail_backend, settings, signup_data):
    settings.SIGNUP_RATE_PER_EMAIL = "2/h"
    with committed():
        for n in range(2):
            response = Client(REMOTE_ADDR=f"198.51.100.{n}").post(SIGNUP, signup_data)
            assert response.status_code == 302

        response = Client(REMOTE_ADDR="198.51.100.9").post(
            SIGNUP, {**signup_data, "email": "reader@EXAMPLE.com"}
        )

    assert response.status_code == 429
    assert len(mail.outbox) == 2


def test_unknown_page_gets_the_sites_404(client, settings):
    settings.DEBUG = False

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "css/site.css" in response.content.decode()


def test_home_page_uses_a_fixed_small_number_of_queries(client, topics, django_assert_max_num_queries):
    from tests.factories import PaperFactory, PaperTopicFactory

    for n in range(8):
        PaperTopicFactory(paper=PaperFactory(upvotes=n), topic=topics[n % 2])

    with django_assert_max_num_queries(6):
        response = client.get(SIGNUP)

    assert response.status_code == 200
    assert len(response.context["papers"]) == 5
