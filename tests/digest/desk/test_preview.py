"""Digest preview in admin: exactly what is sent, and "send this to me" as a test."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from digest.catalog import curation
from digest.models import Delivery, Edition
from tests.factories import PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory
from tests.sent_mail import anymail_message, esp_params, html_alternative

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
TODAY = NOW.date()
PREVIEW = "admin:digest_preview"


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def topic():
    topic = TopicFactory(name="Diffusion", slug="diffusion")
    for n, title in enumerate(["Fast diffusion <b>samplers</b>", "Video diffusion", "Audio diffusion"]):
        PaperTopicFactory(topic=topic, paper=PaperFactory(title=title, listed_on=TODAY, upvotes=10 * (n + 1)))
    return topic


@pytest.fixture
def reader(topic):
    return SubscriberFactory(email="ada@example.com", topics=[topic])


def _without_message_id(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "Message-ID"}


def test_preview_equals_what_is_sent(
    client, editor, reader, anymail_backend, django_capture_on_commit_callbacks
):
    response = client.get(reverse(PREVIEW), {"digest_date": TODAY.isoformat(), "email": reader.email})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert not Delivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "send_digests", "--all", "--email", reader.email, "--date", TODAY.isoformat(), verbosity=0
        )

    (sent,) = mail.outbox
    assert sent.subject == preview.subject
    assert sent.body == preview.text
    assert html_alternative(sent) == preview.html
    assert _without_message_id(sent.extra_headers) == _without_message_id(preview.headers)
    assert sent.to == preview.to == [reader.email]
    assert Delivery.objects.get(subscriber=reader).edition == preview.edition
    assert Edition.objects.count() == 1


def test_preview_page_shows_subject_headers_html_frame_and_text(client, editor, reader):
    response = client.get(reverse(PREVIEW), {"digest_date": TODAY.isoformat(), "email": reader.email})
    body = response.content.decode()
    preview = response.context["preview"]
    assert "List-Unsubscribe-Post" in body
    assert 'id="preview-html"' in body
    assert "srcdoc=" in body
    assert "<b>samplers</b>" not in body  # a title's markup is shown as text, never run
    assert next(p.title for p in preview.papers) == "Audio diffusion"
    assert "Audio diffusion" in preview.text


def test_preview_for_a_set_of_topics(client, editor, topic):
    response = client.get(reverse(PREVIEW), {"digest_date": TODAY.isoformat(), "topics": [topic.pk]})
    preview = response.context["preview"]
    assert len(preview.papers) == 3
    assert preview.reader is None
    assert preview.topics == [topic]


def test_send_this_to_me_mails_a_marked_test_and_counts_no_delivery(client, editor, reader, anymail_backend):
    data = {"digest_date": TODAY.isoformat(), "email": reader.email}
    preview = client.get(reverse(PREVIEW), data).context["preview"]

    response = client.post(reverse("admin:digest_preview_send"), data)

    assert response.status_code == 302
    (outboxed,) = mail.outbox
    sent = anymail_message(outboxed)
    assert sent.to == ["editor@example.com"]
    assert sent.subject == "[TEST] " + preview.subject
    assert sent.tags == ["test"]
    assert "delivery_id" not in sent.metadata
    assert esp_params(sent)["tags"] == ["test"]
    assert not Delivery.objects.exists()
    assert preview.headers["List-Unsubscribe"] not in sent.extra_headers["List-Unsubscribe"]


def test_preview_form_refuses_bad_choices(client, editor, reader, topic):
    url = reverse(PREVIEW)
    neither = client.get(url, {"digest_date": TODAY.isoformat()})
    assert "Choose either a reader or a set of topics." in neither.content.decode()
    both = client.get(url, {"digest_date": TODAY.isoformat(), "email": reader.email, "topics": [topic.pk]})
    assert both.context["preview"] is None
    unknown = client.get(url, {"digest_date": TODAY.isoformat(), "email": "nobody@example.com"})
    assert "No reader has this email address." in unknown.content.decode()
    bad_date = client.get(url, {"digest_date": "2026-02-30", "email": reader.email})
    assert bad_date.status_code == 200
    assert bad_date.context["preview"] is None


def test_quiet_day_says_there_is_no_digest(client, editor, reader):
    response = client.get(reverse(PREVIEW), {"digest_date": "2020-01-01", "email": reader.email})
    assert "No digest" in response.content.decode()
    assert response.context["preview"] is None


def test_send_without_a_staff_address_is_refused(client, reader, anymail_backend):
    user = get_user_model().objects.create_superuser("noemail", "", "pw")
    client.force_login(user)
    data = {"digest_date": TODAY.isoformat(), "email": reader.email}
    response = client.post(reverse("admin:digest_preview_send"), data, follow=True)
    assert "Not sent: your user account has no email address." in response.content.decode()
    assert mail.outbox == []


def test_send_is_post_only_and_staff_only(client, reader):
    url = reverse("admin:digest_preview_send")
    assert client.post(url, {"digest_date": TODAY.isoformat(), "email": reader.email}).status_code == 302
    assert mail.outbox == []
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    assert client.get(url).status_code == 405


def test_editor_note_and_pin_show_in_the_previewed_email(client, editor, reader, topic):
    quiet = topic.papers.get(title="Video diffusion")
    curation.pin_papers(papers=[quiet], user=editor)
    curation.set_editor_note(paper=quiet, note="Best ablations this week.", user=editor)

    response = client.get(reverse(PREVIEW), {"digest_date": TODAY.isoformat(), "email": reader.email})

    preview = response.context["preview"]
    assert preview.papers[0] == quiet
    assert "Editor's note: Best ablations this week." in preview.text
    assert "Best ablations this week." in preview.html
