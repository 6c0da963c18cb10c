"""Bad input and abuse: fuzzed personal links and one-click posts, forged webhooks,
address probing through sign-up, and injection through titles, topics and notes."""

from __future__ import annotations

import base64
import json
import re
from email import message_from_bytes
from typing import Any
from urllib.parse import quote

import pytest
from django.core import mail
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.daily.dispatch import dispatch_due
from digest.daily.sending import send_chunk
from subscriptions.emails import email_hash
from subscriptions.models import EmailEvent, Subscriber, Suppression
from subscriptions.tokens import Purpose, make_token
from tests.commit import committed
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import html_alternative
from tests.subscriptions.test_webhooks import bounce, complaint

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WEBHOOK = "/anymail/postmark/tracking/"
SECRET = "esp:s3cret"


def _snapshot() -> tuple[object, ...]:
    return (
        list(Subscriber.objects.order_by("pk").values()),
        sorted(Subscriber.topics.through.objects.values_list("subscriber_id", "topic_id")),
        list(Suppression.objects.values_list("email_hash", flat=True)),
        EmailEvent.objects.count(),
    )


@FUZZ
@given(
    token=st.text(min_size=1, max_size=300),
    action=st.sampled_from(["pause/", "resume/", "my-data.json", "delete/"]),
    method=st.sampled_from(["get", "post"]),
)
def test_arbitrary_tokens_on_every_preferences_action_never_500_and_change_nothing(token, action, method):
    if not Subscriber.objects.exists():
        SubscriberFactory()
    before = _snapshot()
    url = f"/preferences/{quote(token, safe='')}/{action}"
    response = getattr(Client(), method)(url)
    assert response.status_code in (400, 403, 404, 405, 410), (url, response.status_code)
    assert _snapshot() == before


@FUZZ
@given(
    body=st.one_of(
        st.text(max_size=200),
        st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=4),
    ),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "text/plain", "application/json", "multipart/form-data"]
    ),
)
def test_one_click_endpoint_with_arbitrary_bodies_never_500_and_only_one_click_unsubscribes(
    body, content_type
):
    Subscriber.objects.all().delete()
    reader = SubscriberFactory(email="oneclick@example.com")
    url = f"/unsubscribe/{make_token(reader, Purpose.UNSUBSCRIBE)}/"
    client = Client(enforce_csrf_checks=True)  # as a mail client posts: no cookie, no CSRF token
    if content_type == "multipart/form-data":
        response = client.post(url, body if isinstance(body, dict) else {"x": body})
    else:
        raw = body if isinstance(body, str) else json.dumps(body)
        response = client.post(url, raw, content_type=content_type)
    assert response.status_code < 500
    reader.refresh_from_db()
    if reader.status == Subscriber.Status.UNSUBSCRIBED:
        assert 200 <= response.status_code < 300
        assert "One-Click" in (body if isinstance(body, str) else json.dumps(body))
    else:
        assert response.status_code == 403


def _auth(secret: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


@FUZZ
@given(
    auth=st.one_of(st.none(), st.text(max_size=40).map(_auth), st.just(_auth("esp:wrong"))),
    event=st.sampled_from([bounce, complaint]),
)
def test_forged_webhooks_without_the_secret_are_refused_and_change_nothing(settings, auth, event):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    if not Subscriber.objects.exists():
        SubscriberFactory(email="target@example.com")
    before = _snapshot()
    response = Client().post(
        WEBHOOK, json.dumps(event("target@example.com")), content_type="application/json", **(auth or {})
    )
    assert response.status_code in (400, 401, 403)
    assert _snapshot() == before


CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.mark.parametrize(
    "existing",
    [None, "active", "pending", "unsubscribed", "suppressed"],
)
def test_signup_answers_the_same_whatever_is_known_about_the_address(anymail_backend, existing):
    topic = TopicFactory(name="LLM", slug="llm")
    email = "probe@example.com"
    if existing == "suppressed":
        SubscriberFactory(email=email, status="active")
        Suppression.objects.create(email_hash=email_hash(email))
    elif existing:
        SubscriberFactory(email=email, status=existing)
    data = {
        "email": email,
        "topics": [str(topic.pk)],
        "frequency": "daily",
        "weekday": "0",
        "delivery_hour": "7",
        "timezone": "UTC",
        "papers_per_email": "10",
    }
    baseline = Client().post("/", {**data, "email": "fresh-address@example.com"}, follow=True)
    probe = Client().post("/", data, follow=True)
    assert probe.redirect_chain == baseline.redirect_chain
    assert probe.status_code == baseline.status_code == 200
    assert CSRF.sub(b"", probe.content) == CSRF.sub(b"", baseline.content)


EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>\r\nBcc: victim@example.com\nX-Evil: 1"
SHORT_EVIL = "<script>1</script><img src=x>\r\nBcc: v@example.com\nX-Evil: 1"  # topic names: 80 chars


def test_injection_through_titles_topics_and_notes_is_neutralised_in_the_digest(anymail_backend):
    topic = TopicFactory(name=f"Topic {SHORT_EVIL}", slug="evil")
    paper = PaperFactory(title=f"Title {EVIL}", editor_note=f"Note {EVIL}", abstract=f"Abstract {EVIL}")
    PaperTopicFactory(paper=paper, topic=topic)
    reader = SubscriberFactory(email="victim-reader@example.com", delivery_hour=0, topics=[topic])
    captured: list[list[int]] = []
    report = dispatch_due(enqueue=captured.append)
    assert report.queued == 1
    assert send_chunk(captured[0]).sent == 1
    (message,) = mail.outbox
    assert message.to == [reader.email]
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_all("Bcc") is None
    assert parsed.get_all("X-Evil") is None
    folded = re.compile(r"\r?\n[ \t]")  # long headers are folded: a line break then whitespace
    for name, value in parsed.items():
        assert "\n" not in folded.sub(" ", str(value)), (name, value)
    html = html_alternative(message)
    assert "<script>" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(2)&gt;", "")  # only as escaped text
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_injection_through_topic_names_is_neutralised_in_account_emails(anymail_backend):
    topic = TopicFactory(name=f"Topic {SHORT_EVIL}", slug="evil")
    with committed():
        response = Client().post(
            "/",
            {
                "email": "new-reader@example.com",
                "topics": [str(topic.pk)],
                "frequency": "daily",
                "weekday": "0",
                "delivery_hour": "7",
                "timezone": "UTC",
                "papers_per_email": "10",
            },
        )
    assert response.status_code == 302
    (message,) = mail.outbox
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_all("Bcc") is None
    assert parsed.get_all("X-Evil") is None
    for body, kind in getattr(message, "alternatives", []):
        if kind == "text/html":
            assert "<script>" not in body
            assert "<img src=x" not in body


@FUZZ
@given(
    action=st.sampled_from(["pause/", "delete/"]),
    data=st.dictionaries(
        st.sampled_from(["weeks", "confirm", "csrfmiddlewaretoken", "x"]),
        st.one_of(st.text(max_size=40), st.sampled_from(["1", "2", "4", "on", "true", "0", ""])),
        max_size=3,
    ),
)
def test_arbitrary_pause_and_delete_posts_with_a_valid_link_never_500(action, data):
    Subscriber.objects.all().delete()
    reader = SubscriberFactory(email="manage@example.com")
    before = _snapshot()
    url = f"/preferences/{make_token(reader, Purpose.MANAGE)}/{action}"
    response = Client().post(url, data)
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 400:
        assert _snapshot() == before
    elif action == "delete/":
        assert not Subscriber.objects.filter(pk=reader.pk).exists()
    else:
        reader.refresh_from_db()
        assert reader.paused_until is not None


def test_a_webhook_with_infinity_or_nan_in_it_is_stored_not_a_500(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    reader = SubscriberFactory(email="target@example.com")
    payload = {**bounce(reader.email), "ID": float("inf"), "Details": float("nan")}
    response = Client().post(WEBHOOK, json.dumps(payload), content_type="application/json", **_auth(SECRET))
    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.raw["ID"], event.raw["Details"]) == ("Infinity", "NaN")
